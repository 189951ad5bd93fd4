"""The only I/O in openwpd: PTP/IP over asyncio TCP (both roles), later USB. Library exceptions
are mapped to openwpd's error family here."""
