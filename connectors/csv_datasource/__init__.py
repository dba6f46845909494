"""csv_datasource: a CSV file as a referential (w.c.s. data source)."""

from framework import hookimpl
from framework.registry import ConnectorRegister


@hookimpl
def raccord_register_connectors(register: ConnectorRegister) -> None:
    from connectors.csv_datasource.connector import CsvDatasource

    register.add(CsvDatasource)
