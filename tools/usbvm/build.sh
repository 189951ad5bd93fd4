#!/bin/bash
# Build the openwpd USB lab image once per machine: Debian's stock kernel + a bookworm minbase
# root file system (umtprd, libmtp's tools, python3 with libusb1 and pytest) packed as the
# initramfs. The image is cached outside the checkout, keyed by a hash of this file and the
# boot stub (guest/boot), so it is rebuilt only when they change. Guest scripts other than the
# boot stub are read from the shared checkout at run time and never force a rebuild.
#
#   build.sh            # prints the image folder on stdout (building it first when missing)
#
# Env: OPENWPD_USBVM_CACHE (default /var/cache/openwpd/usbvm), OPENWPD_USBVM_MIRROR (default: the
#      first Debian mirror of this machine's apt sources), OPENWPD_USBVM_REBUILD=1.
# Exit codes: 0 built/cached, 3 cannot build here (not root, no apt, no registry), 1 failure.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CACHE=${OPENWPD_USBVM_CACHE:-/var/cache/openwpd/usbvm}
SUITE=bookworm
# What the guest needs: the responder under test, libmtp's tools (the benchmark baseline), python3
# with libusb1 (Debian packages it as python3-usb1) and a pytest with asyncio + timeout support,
# what openwpd's client and device import at run time, and the other USB hosts the gadget suite
# runs against our device: gphoto2, jmtpfs and go-mtpfs (with fuse 2's fusermount: debootstrap
# cannot take fuse3 beside jmtpfs, which depends on fuse).
PKGS=kmod,procps,usbutils,libusb-1.0-0,umtp-responder,mtp-tools,python3,python3-usb1
PKGS=$PKGS,python3-pytest,python3-pytest-asyncio,python3-pytest-timeout,python3-pytest-cov
PKGS=$PKGS,python3-click,python3-rich,python3-platformdirs,python3-watchdog
PKGS=$PKGS,gphoto2,jmtpfs,go-mtpfs,fuse

log() { echo "usbvm build: $*" >&2; }
cannot() { log "cannot build the VM image here: $*"; exit 3; }

key=$( { cat "$HERE/build.sh" "$HERE/guest/boot"; echo "$PKGS"; } | sha256sum | cut -c1-16)
IMG=$CACHE/$key
if [ -f "$IMG/initrd.img" ] && [ -f "$IMG/vmlinuz" ] && [ -z "${OPENWPD_USBVM_REBUILD:-}" ]; then
  echo "$IMG"; exit 0
fi

[ "$(id -u)" = 0 ] || cannot "debootstrap and chroot need root"
command -v apt-get >/dev/null || cannot "no apt-get (a Debian host is needed)"
mkdir -p "$CACHE"
exec 9>"$CACHE/.lock"
flock 9    # one build at a time; a second caller waits and then finds the image
if [ -f "$IMG/initrd.img" ] && [ -z "${OPENWPD_USBVM_REBUILD:-}" ]; then echo "$IMG"; exit 0; fi

t0=$(date +%s)
need=()
command -v qemu-system-x86_64 >/dev/null || need+=(qemu-system-x86)
command -v debootstrap >/dev/null || need+=(debootstrap)
command -v cpio >/dev/null || need+=(cpio)
export DEBIAN_FRONTEND=noninteractive
if [ ${#need[@]} -gt 0 ] || ! apt-cache show linux-image-amd64 >/dev/null 2>&1; then
  log "apt-get update; install ${need[*]:-nothing}"
  apt-get update -qq || cannot "apt-get update failed (no package registry?)"
  if [ ${#need[@]} -gt 0 ]; then
    apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null || cannot "cannot install ${need[*]}"
  fi
fi

mirror=${OPENWPD_USBVM_MIRROR:-$( { cat /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '/^URIs:/{print $2}'
  cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
    awk '$1=="deb"{for(i=2;i<=NF;i++) if ($i ~ /^[a-z]+:\/\//){print $i; break}}'; } |
  grep -v -- '-security' | head -n 1 || true)}
[ -n "$mirror" ] || cannot "no Debian mirror in the apt sources; set OPENWPD_USBVM_MIRROR"

work=$(mktemp -d "$CACHE/build.XXXXXX")
trap 'rm -rf "$work"' EXIT
cd "$work"

kpkg=$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-[0-9]/{print $2; exit}')
kv=${kpkg#linux-image-}
log "kernel $kpkg"
mkdir dl && chmod 777 dl
(cd dl && apt-get download -q "$kpkg" >/dev/null 2>&1) || cannot "cannot download $kpkg"
dpkg-deb -x dl/"${kpkg}"_*.deb kernel

log "debootstrap --variant=minbase $SUITE from $mirror (about a minute)"
if ! debootstrap --variant=minbase --include="$PKGS" "$SUITE" rootfs "$mirror" >debootstrap.log 2>&1; then
  tail -n 20 debootstrap.log >&2; log "debootstrap failed"; exit 1
fi

# Only the modules the lab needs: the gadget stack (dummy_hcd, libcomposite, usb_f_fs), the host
# side (usbcore), configfs, fuse (jmtpfs, go-mtpfs) and the virtio 9p share.
m=lib/modules/$kv
mkdir -p "rootfs/$m/kernel"
for d in drivers/usb/common drivers/usb/core drivers/usb/gadget drivers/virtio fs/configfs \
         fs/9p net/9p fs/netfs fs/fscache fs/fuse; do
  mkdir -p "rootfs/$m/kernel/$d"
  cp -a "kernel/$m/kernel/$d/." "rootfs/$m/kernel/$d/"
done
cp "kernel/$m"/modules.builtin* "kernel/$m/modules.order" "rootfs/$m/"
chroot rootfs depmod -a "$kv"

install -m 0755 "$HERE/guest/boot" rootfs/openwpd-boot
mkdir -p rootfs/mnt/job rootfs/mnt/share
echo usbvm > rootfs/etc/hostname
rm -f rootfs/etc/resolv.conf
rm -rf rootfs/var/cache/apt/archives/*.deb rootfs/var/cache/apt/*.bin rootfs/var/lib/apt/lists/* \
       rootfs/usr/share/doc rootfs/usr/share/man rootfs/usr/share/info rootfs/usr/share/locale

log "packing the initramfs"
mkdir -p out
cp "kernel/boot/vmlinuz-$kv" out/vmlinuz
(cd rootfs && find . -xdev -print0 | cpio --null -o -H newc --quiet) | gzip -1 > out/initrd.img
rm -rf "$IMG" && mv out "$IMG"
# older images are of no use once the key changed
find "$CACHE" -mindepth 1 -maxdepth 1 -type d ! -name "$key" ! -name 'build.*' -exec rm -rf {} +
log "done in $(( $(date +%s) - t0 )) s: $IMG ($(du -h "$IMG/initrd.img" | cut -f1) initramfs)"
echo "$IMG"
