"""soap: a generic connector configured by its WSDL."""

from framework import hookimpl
from framework.registry import ConnectorRegister


@hookimpl
def raccord_register_connectors(register: ConnectorRegister) -> None:
    from connectors.soap.connector import SoapConnector

    register.add(SoapConnector)
