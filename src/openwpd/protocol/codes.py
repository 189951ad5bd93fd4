"""Every MTP/PTP wire code as an IntEnum, named as in the specification.

(Skeleton: DataType, FormFlag and ContainerType are final; the other tables are being filled in.)
"""

from __future__ import annotations

from enum import IntEnum


class DataType(IntEnum):
    """PTP data type codes (reference protocol.md §1.3)."""

    UNDEF = 0x0000  #: Undefined, 0x0000
    INT8 = 0x0001  #: INT8, 0x0001
    UINT8 = 0x0002  #: UINT8, 0x0002
    INT16 = 0x0003  #: INT16, 0x0003
    UINT16 = 0x0004  #: UINT16, 0x0004
    INT32 = 0x0005  #: INT32, 0x0005
    UINT32 = 0x0006  #: UINT32, 0x0006
    INT64 = 0x0007  #: INT64, 0x0007
    UINT64 = 0x0008  #: UINT64, 0x0008
    INT128 = 0x0009  #: INT128, 0x0009
    UINT128 = 0x000A  #: UINT128, 0x000A
    AINT8 = 0x4001  #: array of INT8, 0x4001
    AUINT8 = 0x4002  #: array of UINT8, 0x4002
    AINT16 = 0x4003  #: array of INT16, 0x4003
    AUINT16 = 0x4004  #: array of UINT16, 0x4004
    AINT32 = 0x4005  #: array of INT32, 0x4005
    AUINT32 = 0x4006  #: array of UINT32, 0x4006
    AINT64 = 0x4007  #: array of INT64, 0x4007
    AUINT64 = 0x4008  #: array of UINT64, 0x4008
    AINT128 = 0x4009  #: array of INT128, 0x4009
    AUINT128 = 0x400A  #: array of UINT128, 0x400A
    STR = 0xFFFF  #: PTP string, 0xFFFF

    @property
    def is_array(self) -> bool:
        """True for the A* array types."""
        return 0x4001 <= self <= 0x400A

    @property
    def element(self) -> DataType:
        """The element type of an array type (the type itself for scalars)."""
        return DataType(self & ~0x4000) if self.is_array else self


class FormFlag(IntEnum):
    """Property description form flags (§1.11, §1.12, §6.6)."""

    NONE = 0x00  #: None, 0x00
    RANGE = 0x01  #: Range, 0x01
    ENUMERATION = 0x02  #: Enumeration, 0x02
    DATE_TIME = 0x03  #: DateTime, 0x03
    FIXED_LENGTH_ARRAY = 0x04  #: FixedLengthArray, 0x04 (layout disputed; never emitted)
    REGULAR_EXPRESSION = 0x05  #: RegularExpression, 0x05
    BYTE_ARRAY = 0x06  #: ByteArray, 0x06 (layout disputed; never emitted)
    SERVICE_OBJECT_PROPERTY = 0x81  #: ServiceObjectPropertyExtension, 0x81
    SERVICE_METHOD_PARAMETER = 0x82  #: ServiceMethodParameterExtension, 0x82
    OBJECT_ID = 0x83  #: ObjectID, 0x83
    LONG_STRING = 0xFF  #: LongString, 0xFF (layout disputed; never emitted)


class ContainerType(IntEnum):
    """USB generic container types (§1.2)."""

    UNDEFINED = 0  #: Undefined, 0x0000
    COMMAND = 1  #: Command block, 0x0001
    DATA = 2  #: Data block, 0x0002
    RESPONSE = 3  #: Response block, 0x0003
    EVENT = 4  #: Event block, 0x0004
