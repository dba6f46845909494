"""soap: a generic connector configured by its WSDL."""

from framework import ConnectorRegister, hookimpl


@hookimpl
def raccord_register_connectors(register: ConnectorRegister) -> None:
    from connectors.soap.connector import SoapConnector

    register.add(SoapConnector)
