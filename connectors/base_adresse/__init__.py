"""base_adresse: the Base Adresse Nationale (api-adresse.data.gouv.fr) as a data source."""

from framework import hookimpl
from framework.registry import ConnectorRegister


@hookimpl
def raccord_register_connectors(register: ConnectorRegister) -> None:
    from connectors.base_adresse.connector import BaseAdresse

    register.add(BaseAdresse)
