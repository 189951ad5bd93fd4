"""The async MTP initiator: one session per device shared by many handles (see DESIGN.md)."""
