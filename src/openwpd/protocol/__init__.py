"""Sans-I/O MTP/PTP: wire codes, data types, datasets, USB containers, PTP/IP packets and the
transaction state machine. Bytes in, events out; nothing here performs I/O or reads a clock."""
