#!/bin/bash
# The VM's test job (`usbvm test`): the USB suite against umtprd (tests/usb), then the gadget
# suite against openwpd's own device as the USB gadget (tests/gadget, which stops umtprd).
# Arguments go to both pytest runs; when they name test paths, only the suites named run.
# Exit code: non-zero when either suite failed.
cd /mnt/share || exit 97
usb=1 gadget=1 named=0
for a in "$@"; do
  case $a in
    tests/usb*) named=1 ;;
    tests/gadget*) named=1 ;;
  esac
done
if [ $named = 1 ]; then
  usb=0 gadget=0
  for a in "$@"; do
    case $a in tests/usb*) usb=1 ;; tests/gadget*) gadget=1 ;; esac
  done
fi
rc=0
if [ $usb = 1 ]; then
  args=(); for a in "$@"; do case $a in tests/gadget*) ;; *) args+=("$a") ;; esac; done
  [ $named = 1 ] || args=(tests/usb "${args[@]}")
  python3 -m pytest -c tests/usb/pytest.ini "${args[@]}" || rc=1
fi
if [ $gadget = 1 ]; then
  args=(); for a in "$@"; do case $a in tests/usb*) ;; *) args+=("$a") ;; esac; done
  [ $named = 1 ] || args=(tests/gadget "${args[@]}")
  python3 -m pytest -c tests/gadget/pytest.ini "${args[@]}" || rc=1
fi
exit $rc
