"""base_adresse: the Base Adresse Nationale (api-adresse.data.gouv.fr) as a data source."""

from __future__ import annotations

from framework import ConnectorRegister, hookimpl


@hookimpl
def raccord_register_connectors(register: ConnectorRegister) -> None:
    from connectors.base_adresse.connector import BaseAdresse

    register.add(BaseAdresse)
