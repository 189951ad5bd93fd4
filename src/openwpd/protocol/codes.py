"""Every MTP/PTP wire code as an IntEnum, named as in the specification.

Theory of operation: this module is the one place where wire codes are spelled out
(``docs/conventions.md``). Each code table of PTP (ISO 15740), MTP 1.1, the USB Still Image class,
PTP/IP (CIPA DC-005) and the MTP Device Services extension is one ``IntEnum``; a member's name is
the UPPER_SNAKE form of the spec name and its ``#:`` comment gives the spec spelling and the hex
value, so a reader can grep either. Nothing here validates traffic: a peer may legitimately send
codes we have no member for (vendor extensions, newer spec revisions), so parsers keep codes as
plain ``int`` and compare them with members; use :func:`describe` to print one, never ``Enum(code)``
on untrusted input without handling ``ValueError``.

Besides the codes the module holds the small amount of knowledge that is a pure function of a
code: the customary data type of each object and device property (:data:`OBJECT_PROP_TYPES`,
:data:`DEVICE_PROP_TYPES`) and the object format a file name is usually sent as
(:func:`format_for_filename`). Only the standard library is used.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import IntEnum
from types import MappingProxyType


class DataType(IntEnum):
    """PTP data type codes."""

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
    """Property description form flags (PTP, MTP 1.1, MTP Device Services)."""

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
    """USB generic container types (USB Still Image class)."""

    UNDEFINED = 0  #: Undefined, 0x0000
    COMMAND = 1  #: Command block, 0x0001
    DATA = 2  #: Data block, 0x0002
    RESPONSE = 3  #: Response block, 0x0003
    EVENT = 4  #: Event block, 0x0004


class ResponseCode(IntEnum):
    """PTP, MTP and Device Services response codes (PTP/MTP)."""

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
    #: SpecificationOfDestinationUnsupported, 0x2020
    SPECIFICATION_OF_DESTINATION_UNSUPPORTED = 0x2020
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
    """PTP/IP packet types (PTP/IP, CIPA DC-005)."""

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
    """Reasons carried by a PTP/IP Init Fail packet (PTP/IP, CIPA DC-005)."""

    UNDEFINED = 0  #: Undefined, 0
    REJECTED_INITIATOR = 1  #: Rejected initiator (not paired/allowed), 1
    BUSY = 2  #: Busy (another initiator connected), 2
    UNSPECIFIED = 3  #: Unspecified, 3


class DataPhaseInfo(IntEnum):
    """DataPhaseInfo of a PTP/IP Operation Request. Informational only: never trusted (gphoto sends
    1 for "no data" too, ptpy odd values)."""

    UNKNOWN = 0  #: Unknown/undefined, 0
    NO_DATA_OR_DATA_IN = 1  #: No data phase, or data responder to initiator, 1
    DATA_OUT = 2  #: Data initiator to responder, 2


class UsbClassRequest(IntEnum):
    """Still Image class-specific control requests (USB Still Image class)."""

    CANCEL = 0x64  #: Cancel Request, 0x64
    GET_EXTENDED_EVENT_DATA = 0x65  #: Get Extended Event Data, 0x65
    DEVICE_RESET = 0x66  #: Device Reset Request, 0x66
    GET_DEVICE_STATUS = 0x67  #: Get Device Status, 0x67


class OperationCode(IntEnum):
    """Operation codes: PTP 1.0/1.1, MTP, Android extensions, Device Services (PTP/MTP, MTP Device
    Services)."""

    # PTP 1.0
    UNDEFINED = 0x1000  #: Undefined, 0x1000
    GET_DEVICE_INFO = 0x1001  #: GetDeviceInfo, 0x1001
    OPEN_SESSION = 0x1002  #: OpenSession, 0x1002
    CLOSE_SESSION = 0x1003  #: CloseSession, 0x1003
    GET_STORAGE_IDS = 0x1004  #: GetStorageIDs, 0x1004
    GET_STORAGE_INFO = 0x1005  #: GetStorageInfo, 0x1005
    GET_NUM_OBJECTS = 0x1006  #: GetNumObjects, 0x1006
    GET_OBJECT_HANDLES = 0x1007  #: GetObjectHandles, 0x1007
    GET_OBJECT_INFO = 0x1008  #: GetObjectInfo, 0x1008
    GET_OBJECT = 0x1009  #: GetObject, 0x1009
    GET_THUMB = 0x100A  #: GetThumb, 0x100A
    DELETE_OBJECT = 0x100B  #: DeleteObject, 0x100B
    SEND_OBJECT_INFO = 0x100C  #: SendObjectInfo, 0x100C
    SEND_OBJECT = 0x100D  #: SendObject, 0x100D
    INITIATE_CAPTURE = 0x100E  #: InitiateCapture, 0x100E
    FORMAT_STORE = 0x100F  #: FormatStore, 0x100F
    RESET_DEVICE = 0x1010  #: ResetDevice, 0x1010
    SELF_TEST = 0x1011  #: SelfTest, 0x1011
    SET_OBJECT_PROTECTION = 0x1012  #: SetObjectProtection, 0x1012
    POWER_DOWN = 0x1013  #: PowerDown, 0x1013
    GET_DEVICE_PROP_DESC = 0x1014  #: GetDevicePropDesc, 0x1014
    GET_DEVICE_PROP_VALUE = 0x1015  #: GetDevicePropValue, 0x1015
    SET_DEVICE_PROP_VALUE = 0x1016  #: SetDevicePropValue, 0x1016
    RESET_DEVICE_PROP_VALUE = 0x1017  #: ResetDevicePropValue, 0x1017
    TERMINATE_OPEN_CAPTURE = 0x1018  #: TerminateOpenCapture, 0x1018
    MOVE_OBJECT = 0x1019  #: MoveObject, 0x1019
    COPY_OBJECT = 0x101A  #: CopyObject, 0x101A
    GET_PARTIAL_OBJECT = 0x101B  #: GetPartialObject, 0x101B
    INITIATE_OPEN_CAPTURE = 0x101C  #: InitiateOpenCapture, 0x101C
    # PTP 1.1 additions; parameters mostly unverified
    START_ENUM_HANDLES = 0x101D  #: StartEnumHandles, 0x101D
    ENUM_HANDLES = 0x101E  #: EnumHandles, 0x101E
    STOP_ENUM_HANDLES = 0x101F  #: StopEnumHandles, 0x101F
    GET_VENDOR_EXTENSION_MAPS = 0x1020  #: GetVendorExtensionMaps, 0x1020
    GET_VENDOR_DEVICE_INFO = 0x1021  #: GetVendorDeviceInfo, 0x1021
    GET_RESIZED_IMAGE_OBJECT = 0x1022  #: GetResizedImageObject, 0x1022
    GET_FILESYSTEM_MANIFEST = 0x1023  #: GetFilesystemManifest, 0x1023
    GET_STREAM_INFO = 0x1024  #: GetStreamInfo, 0x1024
    GET_STREAM = 0x1025  #: GetStream, 0x1025
    # MTP Device Services
    GET_SERVICE_IDS = 0x9301  #: GetServiceIDs, 0x9301
    GET_SERVICE_INFO = 0x9302  #: GetServiceInfo, 0x9302
    GET_SERVICE_CAPABILITIES = 0x9303  #: GetServiceCapabilities, 0x9303
    GET_SERVICE_PROP_DESC = 0x9304  #: GetServicePropDesc, 0x9304
    GET_SERVICE_PROP_LIST = 0x9305  #: GetServicePropList, 0x9305
    SET_SERVICE_PROP_LIST = 0x9306  #: SetServicePropList, 0x9306
    UPDATE_OBJECT_PROP_LIST = 0x9307  #: UpdateObjectPropList, 0x9307 (parameters unverified)
    DELETE_OBJECT_PROP_LIST = 0x9308  #: DeleteObjectPropList, 0x9308
    DELETE_SERVICE_PROP_LIST = 0x9309  #: DeleteServicePropList, 0x9309
    GET_FORMAT_CAPABILITIES = 0x930A  #: GetFormatCapabilities, 0x930A
    # Android extensions, advertised with VendorExtensionID 6 and "android.com: 1.0;"
    GET_PARTIAL_OBJECT_64 = 0x95C1  #: GetPartialObject64, 0x95C1
    SEND_PARTIAL_OBJECT = 0x95C2  #: SendPartialObject, 0x95C2
    TRUNCATE_OBJECT = 0x95C3  #: TruncateObject, 0x95C3
    BEGIN_EDIT_OBJECT = 0x95C4  #: BeginEditObject, 0x95C4
    END_EDIT_OBJECT = 0x95C5  #: EndEditObject, 0x95C5
    # MTP 1.1
    GET_OBJECT_PROPS_SUPPORTED = 0x9801  #: GetObjectPropsSupported, 0x9801
    GET_OBJECT_PROP_DESC = 0x9802  #: GetObjectPropDesc, 0x9802
    GET_OBJECT_PROP_VALUE = 0x9803  #: GetObjectPropValue, 0x9803
    SET_OBJECT_PROP_VALUE = 0x9804  #: SetObjectPropValue, 0x9804
    GET_OBJECT_PROP_LIST = 0x9805  #: GetObjectPropList, 0x9805
    SET_OBJECT_PROP_LIST = 0x9806  #: SetObjectPropList, 0x9806
    GET_INTERDEPENDENT_PROP_DESC = 0x9807  #: GetInterdependentPropDesc, 0x9807
    SEND_OBJECT_PROP_LIST = 0x9808  #: SendObjectPropList, 0x9808
    GET_OBJECT_REFERENCES = 0x9810  #: GetObjectReferences, 0x9810
    SET_OBJECT_REFERENCES = 0x9811  #: SetObjectReferences, 0x9811
    UPDATE_DEVICE_FIRMWARE = 0x9812  #: UpdateDeviceFirmware, 0x9812 (only gphoto lists it)
    SKIP = 0x9820  #: Skip, 0x9820


class EventCode(IntEnum):
    """Event codes: PTP, MTP and Device Services (PTP/MTP, MTP Device Services)."""

    # PTP
    UNDEFINED = 0x4000  #: Undefined, 0x4000
    CANCEL_TRANSACTION = 0x4001  #: CancelTransaction, 0x4001
    OBJECT_ADDED = 0x4002  #: ObjectAdded, 0x4002
    OBJECT_REMOVED = 0x4003  #: ObjectRemoved, 0x4003
    STORE_ADDED = 0x4004  #: StoreAdded, 0x4004
    STORE_REMOVED = 0x4005  #: StoreRemoved, 0x4005
    DEVICE_PROP_CHANGED = 0x4006  #: DevicePropChanged, 0x4006
    OBJECT_INFO_CHANGED = 0x4007  #: ObjectInfoChanged, 0x4007
    DEVICE_INFO_CHANGED = 0x4008  #: DeviceInfoChanged, 0x4008
    REQUEST_OBJECT_TRANSFER = 0x4009  #: RequestObjectTransfer, 0x4009
    STORE_FULL = 0x400A  #: StoreFull, 0x400A
    DEVICE_RESET = 0x400B  #: DeviceReset, 0x400B
    STORAGE_INFO_CHANGED = 0x400C  #: StorageInfoChanged, 0x400C
    CAPTURE_COMPLETE = 0x400D  #: CaptureComplete, 0x400D
    UNREPORTED_STATUS = 0x400E  #: UnreportedStatus, 0x400E
    # Device Services
    SERVICE_ADDED = 0xC301  #: ServiceAdded, 0xC301
    SERVICE_REMOVED = 0xC302  #: ServiceRemoved, 0xC302
    SERVICE_PROP_CHANGED = 0xC303  #: ServicePropChanged, 0xC303
    METHOD_COMPLETE = 0xC304  #: MethodComplete, 0xC304 (parameters unverified)
    # MTP
    OBJECT_PROP_CHANGED = 0xC801  #: ObjectPropChanged, 0xC801
    OBJECT_PROP_DESC_CHANGED = 0xC802  #: ObjectPropDescChanged, 0xC802
    OBJECT_REFERENCES_CHANGED = 0xC803  #: ObjectReferencesChanged, 0xC803


class ObjectFormatCode(IntEnum):
    """Object format codes (PTP/MTP). The reserved image codes 0x3806 and 0x380C have no member."""

    # PTP ancillary formats (0x3000 range)
    UNDEFINED = 0x3000  #: Undefined (unknown binary), 0x3000
    ASSOCIATION = 0x3001  #: Association (folder), 0x3001
    SCRIPT = 0x3002  #: Script, 0x3002
    EXECUTABLE = 0x3003  #: Executable, 0x3003
    TEXT = 0x3004  #: Text, 0x3004
    HTML = 0x3005  #: HTML, 0x3005
    DPOF = 0x3006  #: DPOF, 0x3006
    AIFF = 0x3007  #: AIFF, 0x3007
    WAV = 0x3008  #: WAV, 0x3008
    MP3 = 0x3009  #: MP3, 0x3009
    AVI = 0x300A  #: AVI, 0x300A
    MPEG = 0x300B  #: MPEG, 0x300B
    ASF = 0x300C  #: ASF, 0x300C
    QUICKTIME = 0x300D  #: QuickTime (MOV), 0x300D
    # PTP image formats (0x3800 range)
    UNDEFINED_IMAGE = 0x3800  #: Undefined image, 0x3800
    EXIF_JPEG = 0x3801  #: EXIF/JPEG, 0x3801
    TIFF_EP = 0x3802  #: TIFF/EP, 0x3802
    FLASHPIX = 0x3803  #: FlashPix, 0x3803
    BMP = 0x3804  #: BMP, 0x3804
    CIFF = 0x3805  #: CIFF, 0x3805
    GIF = 0x3807  #: GIF, 0x3807
    JFIF = 0x3808  #: JFIF, 0x3808
    PCD = 0x3809  #: PCD, 0x3809
    PICT = 0x380A  #: PICT, 0x380A
    PNG = 0x380B  #: PNG, 0x380B
    TIFF = 0x380D  #: TIFF, 0x380D
    TIFF_IT = 0x380E  #: TIFF/IT, 0x380E
    JP2 = 0x380F  #: JP2, 0x380F
    JPX = 0x3810  #: JPX, 0x3810
    DNG = 0x3811  #: DNG (PTP 1.1), 0x3811
    HEIF = 0x3812  #: HEIF (Android), 0x3812
    # MTP formats (0xB000 range)
    MEDIA_CARD = 0xB211  #: MediaCard, 0xB211
    MEDIA_CARD_GROUP = 0xB212  #: MediaCardGroup, 0xB212
    ENCOUNTER = 0xB213  #: Encounter, 0xB213
    ENCOUNTER_BOX = 0xB214  #: EncounterBox, 0xB214
    M4A = 0xB215  #: M4A, 0xB215
    FIRMWARE = 0xB802  #: Firmware, 0xB802
    WBMP = 0xB803  #: WBMP (MTP 1.1), 0xB803
    JPEG_XR = 0xB804  #: JPEG XR (MTP 1.1), 0xB804
    WINDOWS_IMAGE_FORMAT = 0xB881  #: Windows Image Format, 0xB881
    UNDEFINED_AUDIO = 0xB900  #: Undefined audio, 0xB900
    WMA = 0xB901  #: WMA, 0xB901
    OGG = 0xB902  #: OGG, 0xB902
    AAC = 0xB903  #: AAC, 0xB903
    AUDIBLE = 0xB904  #: Audible, 0xB904
    FLAC = 0xB906  #: FLAC, 0xB906
    QCELP = 0xB907  #: QCELP (MTP 1.1), 0xB907
    AMR = 0xB908  #: AMR (MTP 1.1), 0xB908
    UNDEFINED_VIDEO = 0xB980  #: Undefined video, 0xB980
    WMV = 0xB981  #: WMV, 0xB981
    MP4_CONTAINER = 0xB982  #: MP4 container, 0xB982
    MP2 = 0xB983  #: MP2, 0xB983
    THREE_GP = 0xB984  #: 3GP, 0xB984
    # Disputed: tinyusb and Android call 0xB985 3G2, Symbian calls it AVCHD. We follow the
    # majority; AVCHD has its own code 0xB986 in tinyusb.
    THREE_G2 = 0xB985  #: 3G2, 0xB985
    AVCHD = 0xB986  #: AVCHD, 0xB986
    ATSC_TS = 0xB987  #: ATSC-TS, 0xB987
    DVB_TS = 0xB988  #: DVB-TS, 0xB988
    # Abstract formats carry no binary payload; their content is object references.
    UNDEFINED_COLLECTION = 0xBA00  #: Undefined collection, 0xBA00
    ABSTRACT_MULTIMEDIA_ALBUM = 0xBA01  #: Abstract Multimedia Album, 0xBA01
    ABSTRACT_IMAGE_ALBUM = 0xBA02  #: Abstract Image Album, 0xBA02
    ABSTRACT_AUDIO_ALBUM = 0xBA03  #: Abstract Audio Album, 0xBA03
    ABSTRACT_VIDEO_ALBUM = 0xBA04  #: Abstract Video Album, 0xBA04
    ABSTRACT_AV_PLAYLIST = 0xBA05  #: Abstract AV Playlist, 0xBA05
    ABSTRACT_CONTACT_GROUP = 0xBA06  #: Abstract Contact Group, 0xBA06
    ABSTRACT_MESSAGE_FOLDER = 0xBA07  #: Abstract Message Folder, 0xBA07
    ABSTRACT_CHAPTERED_PRODUCTION = 0xBA08  #: Abstract Chaptered Production, 0xBA08
    ABSTRACT_AUDIO_PLAYLIST = 0xBA09  #: Abstract Audio Playlist, 0xBA09
    ABSTRACT_VIDEO_PLAYLIST = 0xBA0A  #: Abstract Video Playlist, 0xBA0A
    ABSTRACT_MEDIACAST = 0xBA0B  #: Abstract Mediacast, 0xBA0B
    WPL_PLAYLIST = 0xBA10  #: WPL playlist, 0xBA10
    M3U_PLAYLIST = 0xBA11  #: M3U playlist, 0xBA11
    MPL_PLAYLIST = 0xBA12  #: MPL playlist, 0xBA12
    ASX_PLAYLIST = 0xBA13  #: ASX playlist, 0xBA13
    PLS_PLAYLIST = 0xBA14  #: PLS playlist, 0xBA14
    UNDEFINED_DOCUMENT = 0xBA80  #: Undefined document, 0xBA80
    ABSTRACT_DOCUMENT = 0xBA81  #: Abstract Document, 0xBA81
    XML_DOCUMENT = 0xBA82  #: XML document, 0xBA82
    MS_WORD = 0xBA83  #: MS Word, 0xBA83
    MHT_COMPILED_HTML = 0xBA84  #: MHT compiled HTML, 0xBA84
    MS_EXCEL = 0xBA85  #: MS Excel, 0xBA85
    MS_POWERPOINT = 0xBA86  #: MS PowerPoint, 0xBA86
    UNDEFINED_MESSAGE = 0xBB00  #: Undefined message, 0xBB00
    ABSTRACT_MESSAGE = 0xBB01  #: Abstract Message, 0xBB01
    UNDEFINED_BOOKMARK = 0xBB10  #: Undefined bookmark (MTP 1.1), 0xBB10
    ABSTRACT_BOOKMARK = 0xBB11  #: Abstract bookmark (MTP 1.1), 0xBB11
    UNDEFINED_APPOINTMENT = 0xBB20  #: Undefined appointment (MTP 1.1), 0xBB20
    ABSTRACT_APPOINTMENT = 0xBB21  #: Abstract appointment (MTP 1.1), 0xBB21
    VCALENDAR1 = 0xBB22  #: vCalendar 1.0 (MTP 1.1), 0xBB22
    UNDEFINED_TASK = 0xBB40  #: Undefined task (MTP 1.1), 0xBB40
    ABSTRACT_TASK = 0xBB41  #: Abstract task (MTP 1.1), 0xBB41
    ICALENDAR = 0xBB42  #: iCalendar (MTP 1.1), 0xBB42
    UNDEFINED_NOTE = 0xBB60  #: Undefined note (MTP 1.1), 0xBB60
    ABSTRACT_NOTE = 0xBB61  #: Abstract note (MTP 1.1), 0xBB61
    UNDEFINED_CONTACT = 0xBB80  #: Undefined contact, 0xBB80
    ABSTRACT_CONTACT = 0xBB81  #: Abstract Contact, 0xBB81
    VCARD2 = 0xBB82  #: vCard 2, 0xBB82
    VCARD3 = 0xBB83  #: vCard 3, 0xBB83
    # Only gphoto lists the 0xBE00 block; 0xBE02 would clash in name with MTP 1.1's 0xBB22.
    UNDEFINED_CALENDAR_ITEM = 0xBE00  #: Undefined calendar item (gphoto), 0xBE00
    ABSTRACT_CALENDAR_ITEM = 0xBE01  #: Abstract calendar item (gphoto), 0xBE01
    VCALENDAR1_LEGACY = 0xBE02  #: vCalendar 1 (gphoto), 0xBE02
    VCALENDAR2 = 0xBE03  #: vCalendar 2 (gphoto), 0xBE03
    UNDEFINED_WINDOWS_EXECUTABLE = 0xBE80  #: Undefined Windows executable, 0xBE80
    MEDIACAST = 0xBE81  #: MediaCast (gphoto), 0xBE81
    SECTION = 0xBE82  #: Section (gphoto), 0xBE82


class ObjectPropCode(IntEnum):
    """MTP object property codes (PTP/MTP); contact, message and activity ranges per gphoto's
    ptp.h."""

    # Common properties (0xDC01 range)
    STORAGE_ID = 0xDC01  #: StorageID, 0xDC01
    OBJECT_FORMAT = 0xDC02  #: ObjectFormat, 0xDC02
    PROTECTION_STATUS = 0xDC03  #: ProtectionStatus, 0xDC03
    OBJECT_SIZE = 0xDC04  #: ObjectSize, 0xDC04
    ASSOCIATION_TYPE = 0xDC05  #: AssociationType, 0xDC05
    ASSOCIATION_DESC = 0xDC06  #: AssociationDesc, 0xDC06
    OBJECT_FILE_NAME = 0xDC07  #: ObjectFileName, 0xDC07
    DATE_CREATED = 0xDC08  #: DateCreated, 0xDC08
    DATE_MODIFIED = 0xDC09  #: DateModified, 0xDC09
    KEYWORDS = 0xDC0A  #: Keywords, 0xDC0A
    PARENT_OBJECT = 0xDC0B  #: ParentObject, 0xDC0B
    ALLOWED_FOLDER_CONTENTS = 0xDC0C  #: AllowedFolderContents, 0xDC0C
    HIDDEN = 0xDC0D  #: Hidden, 0xDC0D
    SYSTEM_OBJECT = 0xDC0E  #: SystemObject, 0xDC0E
    PERSISTENT_UNIQUE_OBJECT_IDENTIFIER = 0xDC41  #: PersistentUniqueObjectIdentifier, 0xDC41
    SYNC_ID = 0xDC42  #: SyncID, 0xDC42
    PROPERTY_BAG = 0xDC43  #: PropertyBag, 0xDC43
    NAME = 0xDC44  #: Name, 0xDC44
    CREATED_BY = 0xDC45  #: CreatedBy, 0xDC45
    ARTIST = 0xDC46  #: Artist, 0xDC46
    DATE_AUTHORED = 0xDC47  #: DateAuthored, 0xDC47
    DESCRIPTION = 0xDC48  #: Description, 0xDC48
    URL_REFERENCE = 0xDC49  #: URLReference, 0xDC49
    LANGUAGE_LOCALE = 0xDC4A  #: LanguageLocale, 0xDC4A
    COPYRIGHT_INFORMATION = 0xDC4B  #: CopyrightInformation, 0xDC4B
    SOURCE = 0xDC4C  #: Source, 0xDC4C
    ORIGIN_LOCATION = 0xDC4D  #: OriginLocation, 0xDC4D
    DATE_ADDED = 0xDC4E  #: DateAdded, 0xDC4E
    NON_CONSUMABLE = 0xDC4F  #: NonConsumable, 0xDC4F
    CORRUPT_OR_UNPLAYABLE = 0xDC50  #: CorruptOrUnplayable, 0xDC50
    PRODUCER_SERIAL_NUMBER = 0xDC51  #: ProducerSerialNumber, 0xDC51
    # Media properties
    REPRESENTATIVE_SAMPLE_FORMAT = 0xDC81  #: RepresentativeSampleFormat, 0xDC81
    REPRESENTATIVE_SAMPLE_SIZE = 0xDC82  #: RepresentativeSampleSize, 0xDC82
    REPRESENTATIVE_SAMPLE_HEIGHT = 0xDC83  #: RepresentativeSampleHeight, 0xDC83
    REPRESENTATIVE_SAMPLE_WIDTH = 0xDC84  #: RepresentativeSampleWidth, 0xDC84
    REPRESENTATIVE_SAMPLE_DURATION = 0xDC85  #: RepresentativeSampleDuration, 0xDC85
    REPRESENTATIVE_SAMPLE_DATA = 0xDC86  #: RepresentativeSampleData, 0xDC86
    WIDTH = 0xDC87  #: Width, 0xDC87
    HEIGHT = 0xDC88  #: Height, 0xDC88
    DURATION = 0xDC89  #: Duration, 0xDC89
    RATING = 0xDC8A  #: Rating, 0xDC8A
    TRACK = 0xDC8B  #: Track, 0xDC8B
    GENRE = 0xDC8C  #: Genre, 0xDC8C
    CREDITS = 0xDC8D  #: Credits, 0xDC8D
    LYRICS = 0xDC8E  #: Lyrics, 0xDC8E
    SUBSCRIPTION_CONTENT_ID = 0xDC8F  #: SubscriptionContentID, 0xDC8F
    PRODUCED_BY = 0xDC90  #: ProducedBy, 0xDC90
    USE_COUNT = 0xDC91  #: UseCount, 0xDC91
    SKIP_COUNT = 0xDC92  #: SkipCount, 0xDC92
    LAST_ACCESSED = 0xDC93  #: LastAccessed, 0xDC93
    PARENTAL_RATING = 0xDC94  #: ParentalRating, 0xDC94
    META_GENRE = 0xDC95  #: MetaGenre, 0xDC95
    COMPOSER = 0xDC96  #: Composer, 0xDC96
    EFFECTIVE_RATING = 0xDC97  #: EffectiveRating, 0xDC97
    SUBTITLE = 0xDC98  #: Subtitle, 0xDC98
    ORIGINAL_RELEASE_DATE = 0xDC99  #: OriginalReleaseDate, 0xDC99
    ALBUM_NAME = 0xDC9A  #: AlbumName, 0xDC9A
    ALBUM_ARTIST = 0xDC9B  #: AlbumArtist, 0xDC9B
    MOOD = 0xDC9C  #: Mood, 0xDC9C
    DRM_STATUS = 0xDC9D  #: DRMStatus, 0xDC9D
    SUB_DESCRIPTION = 0xDC9E  #: SubDescription, 0xDC9E
    # Image properties
    IS_CROPPED = 0xDCD1  #: IsCropped, 0xDCD1
    IS_COLOR_CORRECTED = 0xDCD2  #: IsColorCorrected, 0xDCD2
    IMAGE_BIT_DEPTH = 0xDCD3  #: ImageBitDepth, 0xDCD3
    FNUMBER = 0xDCD4  #: Fnumber, 0xDCD4
    EXPOSURE_TIME = 0xDCD5  #: ExposureTime, 0xDCD5
    EXPOSURE_INDEX = 0xDCD6  #: ExposureIndex, 0xDCD6
    # Message-like properties
    DISPLAY_NAME = 0xDCE0  #: DisplayName, 0xDCE0
    BODY_TEXT = 0xDCE1  #: BodyText, 0xDCE1
    SUBJECT = 0xDCE2  #: Subject, 0xDCE2
    PRIORITY = 0xDCE3  #: Priority, 0xDCE3
    # Contact fields 0xDD00–0xDD37 (names from gphoto's ptp.h)
    GIVEN_NAME = 0xDD00  #: GivenName, 0xDD00
    MIDDLE_NAMES = 0xDD01  #: MiddleNames, 0xDD01
    FAMILY_NAME = 0xDD02  #: FamilyName, 0xDD02
    PREFIX = 0xDD03  #: Prefix, 0xDD03
    SUFFIX = 0xDD04  #: Suffix, 0xDD04
    PHONETIC_GIVEN_NAME = 0xDD05  #: PhoneticGivenName, 0xDD05
    PHONETIC_FAMILY_NAME = 0xDD06  #: PhoneticFamilyName, 0xDD06
    EMAIL_PRIMARY = 0xDD07  #: EmailPrimary, 0xDD07
    EMAIL_PERSONAL_1 = 0xDD08  #: EmailPersonal1, 0xDD08
    EMAIL_PERSONAL_2 = 0xDD09  #: EmailPersonal2, 0xDD09
    EMAIL_BUSINESS_1 = 0xDD0A  #: EmailBusiness1, 0xDD0A
    EMAIL_BUSINESS_2 = 0xDD0B  #: EmailBusiness2, 0xDD0B
    EMAIL_OTHERS = 0xDD0C  #: EmailOthers, 0xDD0C
    PHONE_NUMBER_PRIMARY = 0xDD0D  #: PhoneNumberPrimary, 0xDD0D
    PHONE_NUMBER_PERSONAL = 0xDD0E  #: PhoneNumberPersonal, 0xDD0E
    PHONE_NUMBER_PERSONAL_2 = 0xDD0F  #: PhoneNumberPersonal2, 0xDD0F
    PHONE_NUMBER_BUSINESS = 0xDD10  #: PhoneNumberBusiness, 0xDD10
    PHONE_NUMBER_BUSINESS_2 = 0xDD11  #: PhoneNumberBusiness2, 0xDD11
    PHONE_NUMBER_MOBILE = 0xDD12  #: PhoneNumberMobile, 0xDD12
    PHONE_NUMBER_MOBILE_2 = 0xDD13  #: PhoneNumberMobile2, 0xDD13
    FAX_NUMBER_PRIMARY = 0xDD14  #: FaxNumberPrimary, 0xDD14
    FAX_NUMBER_PERSONAL = 0xDD15  #: FaxNumberPersonal, 0xDD15
    FAX_NUMBER_BUSINESS = 0xDD16  #: FaxNumberBusiness, 0xDD16
    PAGER_NUMBER = 0xDD17  #: PagerNumber, 0xDD17
    PHONE_NUMBER_OTHERS = 0xDD18  #: PhoneNumberOthers, 0xDD18
    PRIMARY_WEB_ADDRESS = 0xDD19  #: PrimaryWebAddress, 0xDD19
    PERSONAL_WEB_ADDRESS = 0xDD1A  #: PersonalWebAddress, 0xDD1A
    BUSINESS_WEB_ADDRESS = 0xDD1B  #: BusinessWebAddress, 0xDD1B
    INSTANT_MESSENGER_ADDRESS = 0xDD1C  #: InstantMessengerAddress, 0xDD1C
    INSTANT_MESSENGER_ADDRESS_2 = 0xDD1D  #: InstantMessengerAddress2, 0xDD1D
    INSTANT_MESSENGER_ADDRESS_3 = 0xDD1E  #: InstantMessengerAddress3, 0xDD1E
    # gphoto spells the personal address parts "PostalAddressPersonalFull<Part>"; we drop the
    # "Full" so the three address blocks (personal, business, other) read alike.
    POSTAL_ADDRESS_PERSONAL_FULL = 0xDD1F  #: PostalAddressPersonalFull, 0xDD1F
    POSTAL_ADDRESS_PERSONAL_LINE_1 = 0xDD20  #: PostalAddressPersonalFullLine1, 0xDD20
    POSTAL_ADDRESS_PERSONAL_LINE_2 = 0xDD21  #: PostalAddressPersonalFullLine2, 0xDD21
    POSTAL_ADDRESS_PERSONAL_CITY = 0xDD22  #: PostalAddressPersonalFullCity, 0xDD22
    POSTAL_ADDRESS_PERSONAL_REGION = 0xDD23  #: PostalAddressPersonalFullRegion, 0xDD23
    POSTAL_ADDRESS_PERSONAL_POSTAL_CODE = 0xDD24  #: PostalAddressPersonalFullPostalCode, 0xDD24
    POSTAL_ADDRESS_PERSONAL_COUNTRY = 0xDD25  #: PostalAddressPersonalFullCountry, 0xDD25
    POSTAL_ADDRESS_BUSINESS_FULL = 0xDD26  #: PostalAddressBusinessFull, 0xDD26
    POSTAL_ADDRESS_BUSINESS_LINE_1 = 0xDD27  #: PostalAddressBusinessLine1, 0xDD27
    POSTAL_ADDRESS_BUSINESS_LINE_2 = 0xDD28  #: PostalAddressBusinessLine2, 0xDD28
    POSTAL_ADDRESS_BUSINESS_CITY = 0xDD29  #: PostalAddressBusinessCity, 0xDD29
    POSTAL_ADDRESS_BUSINESS_REGION = 0xDD2A  #: PostalAddressBusinessRegion, 0xDD2A
    POSTAL_ADDRESS_BUSINESS_POSTAL_CODE = 0xDD2B  #: PostalAddressBusinessPostalCode, 0xDD2B
    POSTAL_ADDRESS_BUSINESS_COUNTRY = 0xDD2C  #: PostalAddressBusinessCountry, 0xDD2C
    POSTAL_ADDRESS_OTHER_FULL = 0xDD2D  #: PostalAddressOtherFull, 0xDD2D
    POSTAL_ADDRESS_OTHER_LINE_1 = 0xDD2E  #: PostalAddressOtherLine1, 0xDD2E
    POSTAL_ADDRESS_OTHER_LINE_2 = 0xDD2F  #: PostalAddressOtherLine2, 0xDD2F
    POSTAL_ADDRESS_OTHER_CITY = 0xDD30  #: PostalAddressOtherCity, 0xDD30
    POSTAL_ADDRESS_OTHER_REGION = 0xDD31  #: PostalAddressOtherRegion, 0xDD31
    POSTAL_ADDRESS_OTHER_POSTAL_CODE = 0xDD32  #: PostalAddressOtherPostalCode, 0xDD32
    POSTAL_ADDRESS_OTHER_COUNTRY = 0xDD33  #: PostalAddressOtherCountry, 0xDD33
    ORGANIZATION_NAME = 0xDD34  #: OrganizationName, 0xDD34
    PHONETIC_ORGANIZATION_NAME = 0xDD35  #: PhoneticOrganizationName, 0xDD35
    ROLE = 0xDD36  #: Role, 0xDD36
    BIRTHDATE = 0xDD37  #: Birthdate, 0xDD37
    # Message fields 0xDD40–0xDD45
    MESSAGE_TO = 0xDD40  #: MessageTo, 0xDD40
    MESSAGE_CC = 0xDD41  #: MessageCC, 0xDD41
    MESSAGE_BCC = 0xDD42  #: MessageBCC, 0xDD42
    MESSAGE_READ = 0xDD43  #: MessageRead, 0xDD43
    MESSAGE_RECEIVED_TIME = 0xDD44  #: MessageReceivedTime, 0xDD44
    MESSAGE_SENDER = 0xDD45  #: MessageSender, 0xDD45
    # Activity fields 0xDD50–0xDD57; gphoto defines nothing at 0xDD53
    ACTIVITY_BEGIN_TIME = 0xDD50  #: ActivityBeginTime, 0xDD50
    ACTIVITY_END_TIME = 0xDD51  #: ActivityEndTime, 0xDD51
    ACTIVITY_LOCATION = 0xDD52  #: ActivityLocation, 0xDD52
    ACTIVITY_REQUIRED_ATTENDEES = 0xDD54  #: ActivityRequiredAttendees, 0xDD54
    ACTIVITY_OPTIONAL_ATTENDEES = 0xDD55  #: ActivityOptionalAttendees, 0xDD55
    ACTIVITY_RESOURCES = 0xDD56  #: ActivityResources, 0xDD56
    ACTIVITY_ACCEPTED = 0xDD57  #: ActivityAccepted, 0xDD57
    # Bookmark and feed fields 0xDD5D–0xDD64, 0xDD70–0xDD72
    OWNER = 0xDD5D  #: Owner, 0xDD5D
    EDITOR = 0xDD5E  #: Editor, 0xDD5E
    WEBMASTER = 0xDD5F  #: Webmaster, 0xDD5F
    URL_SOURCE = 0xDD60  #: URLSource, 0xDD60
    URL_DESTINATION = 0xDD61  #: URLDestination, 0xDD61
    TIME_BOOKMARK = 0xDD62  #: TimeBookmark, 0xDD62
    OBJECT_BOOKMARK = 0xDD63  #: ObjectBookmark, 0xDD63
    BYTE_BOOKMARK = 0xDD64  #: ByteBookmark, 0xDD64
    LAST_BUILD_DATE = 0xDD70  #: LastBuildDate, 0xDD70
    TIME_TO_LIVE = 0xDD71  #: TimetoLive, 0xDD71
    MEDIA_GUID = 0xDD72  #: MediaGUID, 0xDD72
    # Audio/video encoding properties
    TOTAL_BIT_RATE = 0xDE91  #: TotalBitRate, 0xDE91
    BIT_RATE_TYPE = 0xDE92  #: BitRateType, 0xDE92
    SAMPLE_RATE = 0xDE93  #: SampleRate, 0xDE93
    NUMBER_OF_CHANNELS = 0xDE94  #: NumberOfChannels, 0xDE94
    AUDIO_BIT_DEPTH = 0xDE95  #: AudioBitDepth, 0xDE95
    SCAN_DEPTH = 0xDE97  #: ScanDepth, 0xDE97
    AUDIO_WAVE_CODEC = 0xDE99  #: AudioWAVECodec, 0xDE99
    AUDIO_BIT_RATE = 0xDE9A  #: AudioBitRate, 0xDE9A
    VIDEO_FOUR_CC_CODEC = 0xDE9B  #: VideoFourCCCodec, 0xDE9B
    VIDEO_BIT_RATE = 0xDE9C  #: VideoBitRate, 0xDE9C
    FRAMES_PER_THOUSAND_SECONDS = 0xDE9D  #: FramesPerThousandSeconds, 0xDE9D
    KEY_FRAME_DISTANCE = 0xDE9E  #: KeyFrameDistance, 0xDE9E
    BUFFER_SIZE = 0xDE9F  #: BufferSize, 0xDE9F
    ENCODING_QUALITY = 0xDEA0  #: EncodingQuality, 0xDEA0
    ENCODING_PROFILE = 0xDEA1  #: EncodingProfile, 0xDEA1
    # Vendor properties listed by gphoto
    BUY_FLAG = 0xD901  #: BuyFlag, 0xD901
    WIRELESS_CONFIGURATION_FILE = 0xB104  #: WirelessConfigurationFile (WPDWCN), 0xB104


class DevicePropCode(IntEnum):
    """Device property codes: PTP 1.0/1.1, MTP, Device Services (PTP/MTP, MTP Device Services)."""

    # PTP 1.0 (camera properties)
    UNDEFINED = 0x5000  #: Undefined, 0x5000
    BATTERY_LEVEL = 0x5001  #: BatteryLevel, 0x5001
    FUNCTIONAL_MODE = 0x5002  #: FunctionalMode, 0x5002
    IMAGE_SIZE = 0x5003  #: ImageSize, 0x5003
    COMPRESSION_SETTING = 0x5004  #: CompressionSetting, 0x5004
    WHITE_BALANCE = 0x5005  #: WhiteBalance, 0x5005
    RGB_GAIN = 0x5006  #: RGBGain, 0x5006
    F_NUMBER = 0x5007  #: FNumber, 0x5007
    FOCAL_LENGTH = 0x5008  #: FocalLength, 0x5008
    FOCUS_DISTANCE = 0x5009  #: FocusDistance, 0x5009
    FOCUS_MODE = 0x500A  #: FocusMode, 0x500A
    EXPOSURE_METERING_MODE = 0x500B  #: ExposureMeteringMode, 0x500B
    FLASH_MODE = 0x500C  #: FlashMode, 0x500C
    EXPOSURE_TIME = 0x500D  #: ExposureTime, 0x500D
    EXPOSURE_PROGRAM_MODE = 0x500E  #: ExposureProgramMode, 0x500E
    EXPOSURE_INDEX = 0x500F  #: ExposureIndex, 0x500F
    EXPOSURE_BIAS_COMPENSATION = 0x5010  #: ExposureBiasCompensation, 0x5010
    DATE_TIME = 0x5011  #: DateTime, 0x5011
    CAPTURE_DELAY = 0x5012  #: CaptureDelay, 0x5012
    STILL_CAPTURE_MODE = 0x5013  #: StillCaptureMode, 0x5013
    CONTRAST = 0x5014  #: Contrast, 0x5014
    SHARPNESS = 0x5015  #: Sharpness, 0x5015
    DIGITAL_ZOOM = 0x5016  #: DigitalZoom, 0x5016
    EFFECT_MODE = 0x5017  #: EffectMode, 0x5017
    BURST_NUMBER = 0x5018  #: BurstNumber, 0x5018
    BURST_INTERVAL = 0x5019  #: BurstInterval, 0x5019
    TIMELAPSE_NUMBER = 0x501A  #: TimelapseNumber, 0x501A
    TIMELAPSE_INTERVAL = 0x501B  #: TimelapseInterval, 0x501B
    FOCUS_METERING_MODE = 0x501C  #: FocusMeteringMode, 0x501C
    UPLOAD_URL = 0x501D  #: UploadURL, 0x501D
    ARTIST = 0x501E  #: Artist, 0x501E
    COPYRIGHT_INFO = 0x501F  #: CopyrightInfo, 0x501F
    # PTP 1.1 stream/video/audio properties (names from gphoto's ptp.h)
    SUPPORTED_STREAMS = 0x5020  #: SupportedStreams, 0x5020
    ENABLED_STREAMS = 0x5021  #: EnabledStreams, 0x5021
    VIDEO_FORMAT = 0x5022  #: VideoFormat, 0x5022
    VIDEO_RESOLUTION = 0x5023  #: VideoResolution, 0x5023
    VIDEO_QUALITY = 0x5024  #: VideoQuality, 0x5024
    VIDEO_FRAME_RATE = 0x5025  #: VideoFrameRate, 0x5025
    VIDEO_CONTRAST = 0x5026  #: VideoContrast, 0x5026
    VIDEO_BRIGHTNESS = 0x5027  #: VideoBrightness, 0x5027
    AUDIO_FORMAT = 0x5028  #: AudioFormat, 0x5028
    AUDIO_BITRATE = 0x5029  #: AudioBitrate, 0x5029
    AUDIO_SAMPLING_RATE = 0x502A  #: AudioSamplingRate, 0x502A
    AUDIO_BIT_PER_SAMPLE = 0x502B  #: AudioBitPerSample, 0x502B
    AUDIO_VOLUME = 0x502C  #: AudioVolume, 0x502C
    # Microsoft vendor properties (WMDRM, PlaysForSure, Zune)
    SECURE_TIME = 0xD101  #: MTP SecureTime (WMDRM), 0xD101
    DEVICE_CERTIFICATE = 0xD102  #: MTP DeviceCertificate (WMDRM), 0xD102
    REVOCATION_INFO = 0xD103  #: MTP RevocationInfo (WMDRM), 0xD103
    PLAYS_FOR_SURE_ID = 0xD131  #: PlaysForSureID, 0xD131
    ZUNE_UNKNOWN_VERSION = 0xD181  #: Zune unknown version, 0xD181
    # Device Services (MTP Device Services)
    FUNCTIONAL_ID = 0xD301  #: FunctionalID, 0xD301
    MODEL_ID = 0xD302  #: ModelID, 0xD302
    USE_DEVICE_STAGE = 0xD303  #: UseDeviceStage, 0xD303
    # MTP
    SYNCHRONIZATION_PARTNER = 0xD401  #: SynchronizationPartner, 0xD401
    DEVICE_FRIENDLY_NAME = 0xD402  #: DeviceFriendlyName, 0xD402
    VOLUME = 0xD403  #: Volume, 0xD403
    SUPPORTED_FORMATS_ORDERED = 0xD404  #: SupportedFormatsOrdered, 0xD404
    DEVICE_ICON = 0xD405  #: DeviceIcon, 0xD405
    SESSION_INITIATOR_VERSION_INFO = 0xD406  #: SessionInitiatorVersionInfo, 0xD406
    PERCEIVED_DEVICE_TYPE = 0xD407  #: PerceivedDeviceType, 0xD407 (values unverified)
    PLAYBACK_RATE = 0xD410  #: PlaybackRate, 0xD410
    PLAYBACK_OBJECT = 0xD411  #: PlaybackObject, 0xD411
    PLAYBACK_CONTAINER_INDEX = 0xD412  #: PlaybackContainerIndex, 0xD412
    PLAYBACK_POSITION = 0xD413  #: PlaybackPosition, 0xD413


# --- Enumerations carried inside datasets and property values (PTP/MTP, MTP Device Services) ------


class StorageType(IntEnum):
    """StorageInfo.StorageType (PTP/MTP)."""

    UNDEFINED = 0x0000  #: Undefined, 0x0000
    FIXED_ROM = 0x0001  #: FixedROM, 0x0001
    REMOVABLE_ROM = 0x0002  #: RemovableROM, 0x0002
    FIXED_RAM = 0x0003  #: FixedRAM, 0x0003
    REMOVABLE_RAM = 0x0004  #: RemovableRAM, 0x0004


class FilesystemType(IntEnum):
    """StorageInfo.FilesystemType (PTP/MTP)."""

    UNDEFINED = 0x0000  #: Undefined, 0x0000
    GENERIC_FLAT = 0x0001  #: GenericFlat, 0x0001
    GENERIC_HIERARCHICAL = 0x0002  #: GenericHierarchical, 0x0002
    DCF = 0x0003  #: DCF, 0x0003


class AccessCapability(IntEnum):
    """StorageInfo.AccessCapability (PTP/MTP)."""

    READ_WRITE = 0x0000  #: Read/Write, 0x0000
    READ_ONLY_WITHOUT_OBJECT_DELETION = 0x0001  #: Read-only without object deletion, 0x0001
    READ_ONLY_WITH_OBJECT_DELETION = 0x0002  #: Read-only with object deletion, 0x0002


class ProtectionStatus(IntEnum):
    """ObjectInfo.ProtectionStatus and the ProtectionStatus property (PTP/MTP)."""

    NONE = 0x0000  #: None, 0x0000
    READ_ONLY = 0x0001  #: Read-only, 0x0001
    READ_ONLY_DATA = 0x8002  #: MTP ReadOnlyData, 0x8002
    NON_TRANSFERABLE_DATA = 0x8003  #: MTP NonTransferableData, 0x8003


class AssociationType(IntEnum):
    """ObjectInfo.AssociationType (PTP/MTP); folders are GENERIC_FOLDER."""

    UNDEFINED = 0x0000  #: Undefined, 0x0000
    GENERIC_FOLDER = 0x0001  #: GenericFolder, 0x0001
    ALBUM = 0x0002  #: Album, 0x0002
    TIME_SEQUENCE = 0x0003  #: TimeSequence, 0x0003
    HORIZONTAL_PANORAMIC = 0x0004  #: HorizontalPanoramic, 0x0004
    VERTICAL_PANORAMIC = 0x0005  #: VerticalPanoramic, 0x0005
    TWO_D_PANORAMIC = 0x0006  #: 2DPanoramic, 0x0006
    ANCILLARY_DATA = 0x0007  #: AncillaryData, 0x0007


class GetSet(IntEnum):
    """DevicePropDesc / ObjectPropDesc GetSet field (PTP/MTP)."""

    GET = 0x00  #: Get, 0x00
    GET_SET = 0x01  #: Get/Set, 0x01


class FunctionalMode(IntEnum):
    """Values of the FunctionalMode device property 0x5002 (PIMA 15740)."""

    STANDARD = 0x0000  #: Standard, 0x0000
    SLEEP = 0x8001  #: Sleep state, 0x8001


class ServiceType(IntEnum):
    """ServiceInfo.ServiceType (MTP Device Services)."""

    NORMAL = 0  #: Normal service, 0
    ABSTRACT = 1  #: Abstract service, 1


class MethodParameterType(IntEnum):
    """ParameterType of the ServiceMethodParameterExtension form 0x82 (MTP Device Services)."""

    RESERVED = 0  #: Reserved, 0
    IN = 1  #: In, 1
    OUT = 2  #: Out, 2
    IN_OUT = 3  #: In/Out, 3


#: Parameter value meaning "all" / "root" depending on the operation (PTP).
ALL = 0xFFFFFFFF


# --- Customary data types of properties (PTP/MTP) -----------------------------------------
#
# These are the types the MTP property tables give, as Symbian, Android and libmtp agree on them.
# A device may describe a property with another type in its PropDesc; that description, not this
# table, is what must be used to decode a value. The table is for the side that *chooses* a type:
# our virtual device, and the client when it has to encode a value before it has seen a PropDesc.
# Codes without a customary type are absent.

_OP = ObjectPropCode
_DP = DevicePropCode
_T = DataType

#: Usual data type per object property code (PTP/MTP); codes without a known type are absent.
OBJECT_PROP_TYPES: Mapping[ObjectPropCode, DataType] = MappingProxyType(
    {
        _OP.STORAGE_ID: _T.UINT32,
        _OP.OBJECT_FORMAT: _T.UINT16,
        _OP.PROTECTION_STATUS: _T.UINT16,
        _OP.OBJECT_SIZE: _T.UINT64,
        _OP.ASSOCIATION_TYPE: _T.UINT16,
        _OP.ASSOCIATION_DESC: _T.UINT32,
        _OP.OBJECT_FILE_NAME: _T.STR,
        _OP.DATE_CREATED: _T.STR,
        _OP.DATE_MODIFIED: _T.STR,
        _OP.KEYWORDS: _T.STR,
        _OP.PARENT_OBJECT: _T.UINT32,
        _OP.ALLOWED_FOLDER_CONTENTS: _T.AUINT16,
        _OP.HIDDEN: _T.UINT16,
        _OP.SYSTEM_OBJECT: _T.UINT16,
        _OP.PERSISTENT_UNIQUE_OBJECT_IDENTIFIER: _T.UINT128,
        _OP.SYNC_ID: _T.STR,
        _OP.PROPERTY_BAG: _T.AUINT16,
        _OP.NAME: _T.STR,
        _OP.CREATED_BY: _T.STR,
        _OP.ARTIST: _T.STR,
        _OP.DATE_AUTHORED: _T.STR,
        _OP.DESCRIPTION: _T.AUINT16,
        _OP.URL_REFERENCE: _T.STR,
        _OP.LANGUAGE_LOCALE: _T.STR,
        _OP.COPYRIGHT_INFORMATION: _T.AUINT16,
        _OP.SOURCE: _T.STR,
        _OP.ORIGIN_LOCATION: _T.STR,
        _OP.DATE_ADDED: _T.STR,
        _OP.NON_CONSUMABLE: _T.UINT8,
        _OP.CORRUPT_OR_UNPLAYABLE: _T.UINT8,
        _OP.PRODUCER_SERIAL_NUMBER: _T.STR,
        _OP.REPRESENTATIVE_SAMPLE_FORMAT: _T.UINT16,
        _OP.REPRESENTATIVE_SAMPLE_SIZE: _T.UINT32,
        _OP.REPRESENTATIVE_SAMPLE_HEIGHT: _T.UINT32,
        _OP.REPRESENTATIVE_SAMPLE_WIDTH: _T.UINT32,
        _OP.REPRESENTATIVE_SAMPLE_DURATION: _T.UINT32,
        _OP.REPRESENTATIVE_SAMPLE_DATA: _T.AUINT8,
        _OP.WIDTH: _T.UINT32,
        _OP.HEIGHT: _T.UINT32,
        _OP.DURATION: _T.UINT32,
        _OP.RATING: _T.UINT16,
        _OP.TRACK: _T.UINT16,
        _OP.GENRE: _T.STR,
        _OP.CREDITS: _T.AUINT16,
        _OP.LYRICS: _T.AUINT16,
        _OP.SUBSCRIPTION_CONTENT_ID: _T.STR,
        _OP.PRODUCED_BY: _T.STR,
        _OP.USE_COUNT: _T.UINT32,
        _OP.SKIP_COUNT: _T.UINT32,
        _OP.LAST_ACCESSED: _T.STR,
        _OP.PARENTAL_RATING: _T.STR,
        _OP.META_GENRE: _T.UINT16,
        _OP.COMPOSER: _T.STR,
        _OP.EFFECTIVE_RATING: _T.UINT16,
        _OP.SUBTITLE: _T.STR,
        _OP.ORIGINAL_RELEASE_DATE: _T.STR,
        _OP.ALBUM_NAME: _T.STR,
        _OP.ALBUM_ARTIST: _T.STR,
        _OP.MOOD: _T.STR,
        _OP.DRM_STATUS: _T.UINT16,
        _OP.SUB_DESCRIPTION: _T.AUINT16,
        _OP.IS_CROPPED: _T.UINT16,
        _OP.IS_COLOR_CORRECTED: _T.UINT16,
        _OP.IMAGE_BIT_DEPTH: _T.UINT32,
        _OP.FNUMBER: _T.UINT16,
        _OP.EXPOSURE_TIME: _T.UINT32,
        _OP.EXPOSURE_INDEX: _T.UINT16,
        _OP.DISPLAY_NAME: _T.STR,
        _OP.BODY_TEXT: _T.AUINT16,
        _OP.SUBJECT: _T.STR,
        _OP.PRIORITY: _T.UINT16,
        _OP.TOTAL_BIT_RATE: _T.UINT32,
        _OP.BIT_RATE_TYPE: _T.UINT16,
        _OP.SAMPLE_RATE: _T.UINT32,
        _OP.NUMBER_OF_CHANNELS: _T.UINT16,
        _OP.AUDIO_BIT_DEPTH: _T.UINT32,
        _OP.SCAN_DEPTH: _T.UINT32,
        _OP.AUDIO_WAVE_CODEC: _T.UINT32,
        _OP.AUDIO_BIT_RATE: _T.UINT32,
        _OP.VIDEO_FOUR_CC_CODEC: _T.UINT32,
        _OP.VIDEO_BIT_RATE: _T.UINT32,
        _OP.FRAMES_PER_THOUSAND_SECONDS: _T.UINT32,
        _OP.KEY_FRAME_DISTANCE: _T.UINT32,
        _OP.BUFFER_SIZE: _T.UINT32,
        _OP.ENCODING_QUALITY: _T.UINT32,
        _OP.ENCODING_PROFILE: _T.STR,
        _OP.BUY_FLAG: _T.UINT8,
    }
)

#: Typical data type per device property code (PTP/MTP, MTP Device Services); codes without one are
#: absent.
DEVICE_PROP_TYPES: Mapping[DevicePropCode, DataType] = MappingProxyType(
    {
        _DP.BATTERY_LEVEL: _T.UINT8,
        _DP.FUNCTIONAL_MODE: _T.UINT16,
        _DP.IMAGE_SIZE: _T.STR,
        _DP.COMPRESSION_SETTING: _T.UINT8,
        _DP.WHITE_BALANCE: _T.UINT16,
        _DP.RGB_GAIN: _T.STR,
        _DP.F_NUMBER: _T.UINT16,
        _DP.FOCAL_LENGTH: _T.UINT32,
        _DP.FOCUS_DISTANCE: _T.UINT16,
        _DP.FOCUS_MODE: _T.UINT16,
        _DP.EXPOSURE_METERING_MODE: _T.UINT16,
        _DP.FLASH_MODE: _T.UINT16,
        _DP.EXPOSURE_TIME: _T.UINT32,
        _DP.EXPOSURE_PROGRAM_MODE: _T.UINT16,
        _DP.EXPOSURE_INDEX: _T.UINT16,
        _DP.EXPOSURE_BIAS_COMPENSATION: _T.INT16,
        _DP.DATE_TIME: _T.STR,
        _DP.CAPTURE_DELAY: _T.UINT32,
        _DP.STILL_CAPTURE_MODE: _T.UINT16,
        _DP.CONTRAST: _T.UINT8,
        _DP.SHARPNESS: _T.UINT8,
        _DP.DIGITAL_ZOOM: _T.UINT8,
        _DP.EFFECT_MODE: _T.UINT16,
        _DP.BURST_NUMBER: _T.UINT16,
        _DP.BURST_INTERVAL: _T.UINT16,
        _DP.TIMELAPSE_NUMBER: _T.UINT16,
        _DP.TIMELAPSE_INTERVAL: _T.UINT32,
        _DP.FOCUS_METERING_MODE: _T.UINT16,
        _DP.UPLOAD_URL: _T.STR,
        _DP.ARTIST: _T.STR,
        _DP.COPYRIGHT_INFO: _T.STR,
        _DP.FUNCTIONAL_ID: _T.UINT128,
        _DP.MODEL_ID: _T.UINT128,
        _DP.USE_DEVICE_STAGE: _T.UINT8,
        _DP.SYNCHRONIZATION_PARTNER: _T.STR,
        _DP.DEVICE_FRIENDLY_NAME: _T.STR,
        _DP.VOLUME: _T.UINT32,
        _DP.SUPPORTED_FORMATS_ORDERED: _T.UINT8,
        _DP.DEVICE_ICON: _T.AUINT8,
        _DP.SESSION_INITIATOR_VERSION_INFO: _T.STR,
        _DP.PERCEIVED_DEVICE_TYPE: _T.UINT32,
        _DP.PLAYBACK_RATE: _T.INT32,
        _DP.PLAYBACK_OBJECT: _T.UINT32,
        _DP.PLAYBACK_CONTAINER_INDEX: _T.UINT32,
        _DP.PLAYBACK_POSITION: _T.UINT32,
    }
)

del _OP, _DP, _T


# --- File names, formats and MIME types ----------------------------------------------------------
#
# Several extensions share one format on purpose: MTP has one code for "MS Word" whatever the
# file generation, and one HEIF code for .heic and .heif. The MIME type is that of the format,
# so it is the older/generic type where extensions were merged.

_F = ObjectFormatCode

_FORMAT_BY_EXTENSION: Mapping[str, ObjectFormatCode] = MappingProxyType(
    {
        # images
        "jpg": _F.EXIF_JPEG,
        "jpeg": _F.EXIF_JPEG,
        "jpe": _F.EXIF_JPEG,
        "jfif": _F.JFIF,
        "png": _F.PNG,
        "gif": _F.GIF,
        "bmp": _F.BMP,
        "tif": _F.TIFF,
        "tiff": _F.TIFF,
        "dng": _F.DNG,
        "heic": _F.HEIF,
        "heif": _F.HEIF,
        "jp2": _F.JP2,
        "jpx": _F.JPX,
        "fpx": _F.FLASHPIX,
        "pct": _F.PICT,
        "pict": _F.PICT,
        "wbmp": _F.WBMP,
        "jxr": _F.JPEG_XR,
        "wdp": _F.JPEG_XR,
        # audio
        "mp3": _F.MP3,
        "wav": _F.WAV,
        "aif": _F.AIFF,
        "aiff": _F.AIFF,
        "wma": _F.WMA,
        "ogg": _F.OGG,
        "oga": _F.OGG,
        "aac": _F.AAC,
        "m4a": _F.M4A,
        "flac": _F.FLAC,
        "qcp": _F.QCELP,
        "amr": _F.AMR,
        # video
        "avi": _F.AVI,
        "mpg": _F.MPEG,
        "mpeg": _F.MPEG,
        "asf": _F.ASF,
        "mov": _F.QUICKTIME,
        "qt": _F.QUICKTIME,
        "wmv": _F.WMV,
        "mp4": _F.MP4_CONTAINER,
        "m4v": _F.MP4_CONTAINER,
        "3gp": _F.THREE_GP,
        "3g2": _F.THREE_G2,
        # documents, contacts, calendars
        "txt": _F.TEXT,
        "htm": _F.HTML,
        "html": _F.HTML,
        "xml": _F.XML_DOCUMENT,
        "doc": _F.MS_WORD,
        "docx": _F.MS_WORD,
        "xls": _F.MS_EXCEL,
        "xlsx": _F.MS_EXCEL,
        "ppt": _F.MS_POWERPOINT,
        "pptx": _F.MS_POWERPOINT,
        "vcf": _F.VCARD3,
        "ics": _F.ICALENDAR,
        "vcs": _F.VCALENDAR1,
        # playlists
        "m3u": _F.M3U_PLAYLIST,
        "pls": _F.PLS_PLAYLIST,
        "wpl": _F.WPL_PLAYLIST,
        "asx": _F.ASX_PLAYLIST,
        # programs
        "exe": _F.EXECUTABLE,
    }
)

del _F


def format_for_filename(name: str) -> ObjectFormatCode:
    """Return the object format a file called *name* is usually sent as.

    Only the extension of the last path component counts, compared case-insensitively
    (``"DCIM/IMG_0001.JPG"`` gives ``EXIF_JPEG``). A name without an extension, a dot file
    such as ``".profile"``, or an extension we do not know gives ``ObjectFormatCode.UNDEFINED``
    (the format for "unknown binary"). Never raises.
    """
    base = name.replace("\\", "/").rpartition("/")[2].lstrip(".")
    stem, dot, extension = base.rpartition(".")
    if not dot or not stem:
        return ObjectFormatCode.UNDEFINED
    return _FORMAT_BY_EXTENSION.get(extension.lower(), ObjectFormatCode.UNDEFINED)


def describe(enum_type: type[IntEnum], code: int) -> str:
    """Return a short display text for *code* read as a member of *enum_type*.

    ``describe(OperationCode, 0x1009)`` gives ``"GET_OBJECT (0x1009)"``; a code without a member
    (vendor extensions, garbage from a peer) gives just the hex value, ``"0x9999"``. Hex values
    have at least four digits. Never raises for an int.
    """
    try:
        member = enum_type(code)
    except ValueError:
        return f"0x{code:04X}"
    return f"{member.name} (0x{code:04X})"
