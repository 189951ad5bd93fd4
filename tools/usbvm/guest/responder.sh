#!/bin/sh
# umtprd (Debian's umtp-responder, used as shipped) as a USB MTP device on dummy_hcd, so the
# same VM sees it on its USB host side as 1d6b:0100 (class 6/1/1, bulk 0x81/0x02, interrupt 0x85).
#
#   responder.sh up        configfs gadget + FunctionFS, start umtprd, bind, wait for enumeration
#   responder.sh down      unbind and stop umtprd (the device disappears from the bus)
#   responder.sh restart   down + up: a fresh umtprd (its handle database starts empty)
#   responder.sh status    exit 0 when the device is on the bus
# The storage is /var/lib/umtp ("shared folder", read-write); tests put files there directly.
set -e
G=/sys/kernel/config/usb_gadget/g1
FFS=/dev/ffs-mtp
STORE=/var/lib/umtp
PIDFILE=/run/umtprd.pid

present() { grep -qsx '0100' /sys/bus/usb/devices/*/idProduct && grep -qsx '1d6b' /sys/bus/usb/devices/*/idVendor; }

setup() {
  modprobe dummy_hcd
  modprobe libcomposite
  modprobe usb_f_fs
  mountpoint -q /sys/kernel/config || mount -t configfs none /sys/kernel/config
  mkdir -p "$STORE"
  [ -d $G ] && return 0
  mkdir -p $G
  cd $G
  echo 0x1D6B > idVendor          # as in umtprd.conf (usb_vendor_id / usb_product_id)
  echo 0x0100 > idProduct
  echo 0x0200 > bcdUSB
  mkdir -p strings/0x409 configs/c.1/strings/0x409 functions/ffs.mtp
  echo "01234567" > strings/0x409/serialnumber
  echo "Viveris Technologies" > strings/0x409/manufacturer
  echo "The Viveris Product !" > strings/0x409/product
  echo "Conf 1" > configs/c.1/strings/0x409/configuration
  echo 120 > configs/c.1/MaxPower
  ln -s functions/ffs.mtp configs/c.1/
  mkdir -p $FFS
  mount -t functionfs mtp $FFS
}

up() {
  setup
  cd /
  umtprd >> /tmp/umtprd.log 2>&1 &
  echo $! > $PIDFILE
  i=0   # umtprd writes its descriptors to ep0; the endpoint files appear when it has
  while [ ! -e $FFS/ep1 ]; do
    sleep 0.1; i=$((i+1))
    [ $i -lt 150 ] || { echo "umtprd did not set up FunctionFS"; tail -n 20 /tmp/umtprd.log; exit 1; }
  done
  ls /sys/class/udc | head -n 1 > $G/UDC
  i=0
  until present; do
    sleep 0.1; i=$((i+1))
    [ $i -lt 150 ] || { echo "the gadget was not enumerated"; exit 1; }
  done
  # udev is not running: wait for devtmpfs to create the usbfs node of the device
  i=0
  until ls /dev/bus/usb/*/* >/dev/null 2>&1 && [ "$(ls /dev/bus/usb/*/* | wc -l)" -ge 3 ]; do
    sleep 0.1; i=$((i+1)); [ $i -lt 50 ] || break
  done
  echo "usbvm: umtprd up (pid $(cat $PIDFILE)) on $(cat $G/UDC)"
}

down() {
  [ -d $G ] && echo "" > $G/UDC 2>/dev/null || true
  if [ -s $PIDFILE ]; then
    pid=$(cat $PIDFILE)
    kill "$pid" 2>/dev/null || true
    i=0
    while kill -0 "$pid" 2>/dev/null; do
      sleep 0.1; i=$((i+1))
      [ $i -lt 30 ] || { kill -9 "$pid" 2>/dev/null || true; }
      [ $i -lt 60 ] || break
    done
    rm -f $PIDFILE
  fi
  i=0
  while present; do sleep 0.1; i=$((i+1)); [ $i -lt 50 ] || break; done
}

case "${1:-up}" in
  up) up ;;
  down) down ;;
  restart) down; up ;;
  status) present ;;
  *) echo "usage: responder.sh up|down|restart|status" >&2; exit 2 ;;
esac
