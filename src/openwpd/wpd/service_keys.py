"""Names for the device-service GUIDs and PROPERTYKEYs programs use: the standard ones of the
Windows ``*DeviceService.h`` headers that openwpd's virtual device speaks
(``docs/device-services.md``) and those of openwpd's own Diagnostics service.

Service GUIDs (``SERVICE_Contacts`` ...) are in :mod:`openwpd.wpd.guids`. Keys here are
:class:`~openwpd.wpd.keys.PropertyKey` values; method, format and event ids are
:class:`uuid.UUID`. Nothing else in the API depends on this list: a service describes its own
properties, formats, methods and parameters (see :mod:`openwpd.wpd.service_capabilities`), so a
service that is not listed here works the same.
"""

from __future__ import annotations

import uuid

from openwpd.wpd.keys import PropertyKey


def _g(text: str) -> uuid.UUID:
    return uuid.UUID(text)


# -- namespaces ------------------------------------------------------------------------------

NAMESPACE_Services = _g("14FA7268-0B6C-4214-9487-435B480A8C4F")
NAMESPACE_FullEnumSyncSvc = _g("63B10E6C-4F3A-456D-95CB-9894EDEC9FA5")
NAMESPACE_SyncSvc = _g("703D392C-532C-4607-9158-9CEA742F3A16")
NAMESPACE_CalendarSvc = _g("63816297-61E5-4306-B1A3-CEDF481B8629")
NAMESPACE_StatusSvc = _g("49CD1F76-5626-4B17-A4E8-18B4AA1A2213")
NAMESPACE_ContactObj = _g("FBD4FDAB-987D-4777-B3F9-726185A9312B")
NAMESPACE_CalendarObj = _g("F99EFD03-431D-40D8-A1C9-4E220D9C88D3")

# -- service properties -------------------------------------------------------------------------

PKEY_Services_ServiceDisplayName = PropertyKey(NAMESPACE_Services, 2)
PKEY_FullEnumSyncSvc_ReplicaID = PropertyKey(NAMESPACE_FullEnumSyncSvc, 4)
PKEY_FullEnumSyncSvc_LastSyncProxyID = PropertyKey(NAMESPACE_FullEnumSyncSvc, 8)
PKEY_FullEnumSyncSvc_ProviderVersion = PropertyKey(NAMESPACE_FullEnumSyncSvc, 9)
PKEY_SyncSvc_SyncFormat = PropertyKey(NAMESPACE_SyncSvc, 2)
PKEY_SyncSvc_LocalOnlyDelete = PropertyKey(NAMESPACE_SyncSvc, 3)
PKEY_SyncSvc_FilterType = PropertyKey(NAMESPACE_SyncSvc, 4)
PKEY_CalendarSvc_SyncWindowStart = PropertyKey(NAMESPACE_CalendarSvc, 2)
PKEY_CalendarSvc_SyncWindowEnd = PropertyKey(NAMESPACE_CalendarSvc, 3)
PKEY_StatusSvc_SignalStrength = PropertyKey(NAMESPACE_StatusSvc, 2)
PKEY_StatusSvc_TextMessages = PropertyKey(NAMESPACE_StatusSvc, 3)
PKEY_StatusSvc_NewPictures = PropertyKey(NAMESPACE_StatusSvc, 4)
PKEY_StatusSvc_MissedCalls = PropertyKey(NAMESPACE_StatusSvc, 5)
PKEY_StatusSvc_VoiceMail = PropertyKey(NAMESPACE_StatusSvc, 6)
PKEY_StatusSvc_NetworkName = PropertyKey(NAMESPACE_StatusSvc, 7)
PKEY_StatusSvc_NetworkType = PropertyKey(NAMESPACE_StatusSvc, 8)
PKEY_StatusSvc_Roaming = PropertyKey(NAMESPACE_StatusSvc, 9)
PKEY_StatusSvc_BatteryLife = PropertyKey(NAMESPACE_StatusSvc, 10)
PKEY_StatusSvc_ChargingState = PropertyKey(NAMESPACE_StatusSvc, 11)
PKEY_StatusSvc_StorageCapacity = PropertyKey(NAMESPACE_StatusSvc, 12)
PKEY_StatusSvc_StorageFreeSpace = PropertyKey(NAMESPACE_StatusSvc, 13)

# -- object properties of contacts and calendar items -------------------------------------------

PKEY_ContactObj_GivenName = PropertyKey(NAMESPACE_ContactObj, 3)
PKEY_ContactObj_MiddleNames = PropertyKey(NAMESPACE_ContactObj, 4)
PKEY_ContactObj_FamilyName = PropertyKey(NAMESPACE_ContactObj, 5)
PKEY_ContactObj_Title = PropertyKey(NAMESPACE_ContactObj, 6)
PKEY_ContactObj_Suffix = PropertyKey(NAMESPACE_ContactObj, 7)
PKEY_ContactObj_Email = PropertyKey(NAMESPACE_ContactObj, 31)
PKEY_ContactObj_PersonalEmail = PropertyKey(NAMESPACE_ContactObj, 32)
PKEY_ContactObj_BusinessEmail = PropertyKey(NAMESPACE_ContactObj, 34)
PKEY_ContactObj_Phone = PropertyKey(NAMESPACE_ContactObj, 37)
PKEY_ContactObj_PersonalPhone = PropertyKey(NAMESPACE_ContactObj, 38)
PKEY_ContactObj_BusinessPhone = PropertyKey(NAMESPACE_ContactObj, 40)
PKEY_ContactObj_MobilePhone = PropertyKey(NAMESPACE_ContactObj, 42)
PKEY_ContactObj_Organization = PropertyKey(NAMESPACE_ContactObj, 54)
PKEY_ContactObj_Role = PropertyKey(NAMESPACE_ContactObj, 56)
PKEY_ContactObj_Birthdate = PropertyKey(NAMESPACE_ContactObj, 65)
PKEY_CalendarObj_Location = PropertyKey(NAMESPACE_CalendarObj, 3)
PKEY_CalendarObj_BeginDateTime = PropertyKey(NAMESPACE_CalendarObj, 19)
PKEY_CalendarObj_EndDateTime = PropertyKey(NAMESPACE_CalendarObj, 20)

# -- formats, methods ---------------------------------------------------------------------------

FORMAT_AbstractContact = _g("BB810000-AE6C-4804-98BA-C57B46965FE7")
FORMAT_VCard2Contact = _g("BB820000-AE6C-4804-98BA-C57B46965FE7")
FORMAT_VCard3Contact = _g("BB830000-AE6C-4804-98BA-C57B46965FE7")
FORMAT_ICalendarActivity = _g("CC4538CB-7890-41B7-A3F1-B6E60BDD2A61")

METHOD_FullEnumSyncSvc_BeginSync = _g("63803E07-C713-45D3-8119-3479B31D3592")
METHOD_FullEnumSyncSvc_EndSync = _g("40F3F0F7-A539-422E-98DD-FD8D385C8849")

# -- openwpd's Diagnostics service (docs/device-services.md, sections 2 and 5) ---------------------

SERVICE_OpenwpdDiagnostics = _g("6F70656E-7770-4464-8000-446961670001")
NAMESPACE_OpenwpdDiagnosticsSvc = _g("6F70656E-7770-4464-8000-446961670002")
NAMESPACE_OpenwpdDiagnosticsParams = _g("6F70656E-7770-4464-8000-446961670003")
PKEY_OpenwpdDiagnostics_Label = PropertyKey(NAMESPACE_OpenwpdDiagnosticsSvc, 2)
PKEY_OpenwpdDiagnostics_MethodsCompleted = PropertyKey(NAMESPACE_OpenwpdDiagnosticsSvc, 3)
METHOD_OpenwpdDiagnostics_Echo = _g("6F70656E-7770-4464-8000-446961670010")
METHOD_OpenwpdDiagnostics_Sleep = _g("6F70656E-7770-4464-8000-446961670011")
METHOD_OpenwpdDiagnostics_HashObject = _g("6F70656E-7770-4464-8000-446961670012")
PKEY_OpenwpdDiagnostics_EchoText = PropertyKey(NAMESPACE_OpenwpdDiagnosticsParams, 1)
PKEY_OpenwpdDiagnostics_EchoResult = PropertyKey(NAMESPACE_OpenwpdDiagnosticsParams, 2)
PKEY_OpenwpdDiagnostics_SleepMilliseconds = PropertyKey(NAMESPACE_OpenwpdDiagnosticsParams, 3)
PKEY_OpenwpdDiagnostics_HashObject = PropertyKey(NAMESPACE_OpenwpdDiagnosticsParams, 4)
PKEY_OpenwpdDiagnostics_HashAlgorithm = PropertyKey(NAMESPACE_OpenwpdDiagnosticsParams, 5)
PKEY_OpenwpdDiagnostics_HashDigest = PropertyKey(NAMESPACE_OpenwpdDiagnosticsParams, 6)

__all__ = [
    name
    for name in dir()
    if name.startswith(("PKEY_", "NAMESPACE_", "FORMAT_", "METHOD_", "SERVICE_"))
]
