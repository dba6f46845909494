"""payfip: DGFiP PayFiP online payments (creerPaiementSecurise, recupererDetailPaiementSecurise)."""

from __future__ import annotations

from framework import ConnectorRegister, hookimpl


@hookimpl
def raccord_register_connectors(register: ConnectorRegister) -> None:
    from connectors.payfip.connector import PayFiP

    register.add(PayFiP)
