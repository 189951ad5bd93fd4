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


class ResponseCode(IntEnum):
    """PTP, MTP and Device Services response codes (§2.6)."""

    UNDEFINED = 0x2000  #: Undefined, 0x2000
    OK = 0x2001  #: OK, 0x2001
    GENERAL_ERROR = 0x2002  #: GeneralError, 0x2002
    SESSION_NOT_OPEN = 0x2003  #: SessionNotOpen, 0x2003
    INVALID_TRANSACTION_ID = 0x2004  #: InvalidTransactionID, 0x2004
    OPERATION_NOT_SUPPORTED = 0x2005  #: OperationNotSupported, 0x2005
    PARAMETER_NOT_SUPPORTED = 0x2006  #: ParameterNotSupported, 0x2006
    INCOMPLETE_TRANSFER = 0x2007  #: IncompleteTransfer, 0x2007
    INVALID_STORAGE_ID = 0x2008  #: InvalidStorageID, 0x2008
    INVALID_OBJECT_HANDLE = 0x2009  #: InvalidObjectHandle, 0x2009
    DEVICE_PROP_NOT_SUPPORTED = 0x200A  #: DevicePropNotSupported, 0x200A
    INVALID_OBJECT_FORMAT_CODE = 0x200B  #: InvalidObjectFormatCode, 0x200B
    STORE_FULL = 0x200C  #: StoreFull, 0x200C
    OBJECT_WRITE_PROTECTED = 0x200D  #: ObjectWriteProtected, 0x200D
    STORE_READ_ONLY = 0x200E  #: StoreReadOnly, 0x200E
    ACCESS_DENIED = 0x200F  #: AccessDenied, 0x200F
    NO_THUMBNAIL_PRESENT = 0x2010  #: NoThumbnailPresent, 0x2010
    SELF_TEST_FAILED = 0x2011  #: SelfTestFailed, 0x2011
    PARTIAL_DELETION = 0x2012  #: PartialDeletion, 0x2012
    STORE_NOT_AVAILABLE = 0x2013  #: StoreNotAvailable, 0x2013
    SPECIFICATION_BY_FORMAT_UNSUPPORTED = 0x2014  #: SpecificationByFormatUnsupported, 0x2014
    NO_VALID_OBJECT_INFO = 0x2015  #: NoValidObjectInfo, 0x2015
    INVALID_CODE_FORMAT = 0x2016  #: InvalidCodeFormat, 0x2016
    UNKNOWN_VENDOR_CODE = 0x2017  #: UnknownVendorCode, 0x2017
    CAPTURE_ALREADY_TERMINATED = 0x2018  #: CaptureAlreadyTerminated, 0x2018
    DEVICE_BUSY = 0x2019  #: DeviceBusy, 0x2019
    INVALID_PARENT_OBJECT = 0x201A  #: InvalidParentObject, 0x201A
    INVALID_DEVICE_PROP_FORMAT = 0x201B  #: InvalidDevicePropFormat, 0x201B
    INVALID_DEVICE_PROP_VALUE = 0x201C  #: InvalidDevicePropValue, 0x201C
    INVALID_PARAMETER = 0x201D  #: InvalidParameter, 0x201D
    SESSION_ALREADY_OPEN = 0x201E  #: SessionAlreadyOpen, 0x201E
    TRANSACTION_CANCELLED = 0x201F  #: TransactionCancelled, 0x201F
    SPECIFICATION_OF_DESTINATION_UNSUPPORTED = 0x2020  #: SpecificationOfDestinationUnsupported
    INVALID_ENUM_HANDLE = 0x2021  #: InvalidEnumHandle (PTP 1.1), 0x2021
    NO_STREAM_ENABLED = 0x2022  #: NoStreamEnabled (PTP 1.1), 0x2022
    INVALID_DATA_SET = 0x2023  #: InvalidDataSet (PTP 1.1), 0x2023
    MTP_UNDEFINED = 0xA800  #: MTP Undefined, 0xA800
    INVALID_OBJECT_PROP_CODE = 0xA801  #: Invalid_ObjectPropCode, 0xA801
    INVALID_OBJECT_PROP_FORMAT = 0xA802  #: Invalid_ObjectProp_Format, 0xA802
    INVALID_OBJECT_PROP_VALUE = 0xA803  #: Invalid_ObjectProp_Value, 0xA803
    INVALID_OBJECT_REFERENCE = 0xA804  #: Invalid_ObjectReference, 0xA804
    GROUP_NOT_SUPPORTED = 0xA805  #: Group_Not_Supported, 0xA805
    INVALID_DATASET = 0xA806  #: Invalid_Dataset, 0xA806
    SPECIFICATION_BY_GROUP_UNSUPPORTED = 0xA807  #: Specification_By_Group_Unsupported, 0xA807
    SPECIFICATION_BY_DEPTH_UNSUPPORTED = 0xA808  #: Specification_By_Depth_Unsupported, 0xA808
    OBJECT_TOO_LARGE = 0xA809  #: Object_Too_Large, 0xA809
    OBJECT_PROP_NOT_SUPPORTED = 0xA80A  #: ObjectProp_Not_Supported, 0xA80A
    INVALID_WFC_SYNTAX = 0xA121  #: Invalid_WFC_Syntax (WPDWCN), 0xA121
    WFC_VERSION_NOT_SUPPORTED = 0xA122  #: WFC_Version_Not_Supported (WPDWCN), 0xA122
    MEDIA_SESSION_LIMIT_REACHED = 0xA170  #: AAVT media session limit reached, 0xA170
    NO_MORE_DATA = 0xA171  #: AAVT no more data, 0xA171
    MEDIA_SESSION_ERROR = 0xA172  #: AAVT media session error, 0xA172
    INVALID_SERVICE_ID = 0xA301  #: Invalid_ServiceID (Device Services), 0xA301
    INVALID_SERVICE_PROP_CODE = 0xA302  #: Invalid_ServicePropCode (Device Services), 0xA302


class PtpIpPacketType(IntEnum):
    """PTP/IP packet types (§5.3)."""

    INIT_COMMAND_REQUEST = 1  #: Init Command Request, 1
    INIT_COMMAND_ACK = 2  #: Init Command Ack, 2
    INIT_EVENT_REQUEST = 3  #: Init Event Request, 3
    INIT_EVENT_ACK = 4  #: Init Event Ack, 4
    INIT_FAIL = 5  #: Init Fail, 5
    OPERATION_REQUEST = 6  #: Operation Request, 6
    OPERATION_RESPONSE = 7  #: Operation Response, 7
    EVENT = 8  #: Event, 8
    START_DATA = 9  #: Start Data, 9
    DATA = 10  #: Data, 10
    CANCEL = 11  #: Cancel, 11
    END_DATA = 12  #: End Data, 12
    PROBE_REQUEST = 13  #: Probe Request, 13
    PROBE_RESPONSE = 14  #: Probe Response, 14


class InitFailReason(IntEnum):
    """Reasons carried by a PTP/IP Init Fail packet (§5.3)."""

    UNDEFINED = 0  #: Undefined, 0
    REJECTED_INITIATOR = 1  #: Rejected initiator (not paired/allowed), 1
    BUSY = 2  #: Busy (another initiator connected), 2
    UNSPECIFIED = 3  #: Unspecified, 3


class DataPhaseInfo(IntEnum):
    """DataPhaseInfo of a PTP/IP Operation Request. Informational only: never trusted (§7.11)."""

    UNKNOWN = 0  #: Unknown/undefined, 0
    NO_DATA_OR_DATA_IN = 1  #: No data phase, or data responder to initiator, 1
    DATA_OUT = 2  #: Data initiator to responder, 2


class UsbClassRequest(IntEnum):
    """Still Image class-specific control requests (§4.4)."""

    CANCEL = 0x64  #: Cancel Request, 0x64
    GET_EXTENDED_EVENT_DATA = 0x65  #: Get Extended Event Data, 0x65
    DEVICE_RESET = 0x66  #: Device Reset Request, 0x66
    GET_DEVICE_STATUS = 0x67  #: Get Device Status, 0x67


#: PTP/IP protocol version 1.0 (major in the high 16 bits).
PTPIP_VERSION_1_0 = 0x00010000
#: Parameter value meaning "all" / "root" depending on the operation (§2.12).
ALL = 0xFFFFFFFF
