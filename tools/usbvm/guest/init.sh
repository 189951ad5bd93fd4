#!/bin/sh
# Second stage of the USB lab VM's PID 1, read from the shared checkout (guest/boot execs it).
# Brings up umtprd as a USB MTP gadget (unless the kernel command line says usbvm.nogadget), runs
# the job's cmd.sh with bash in the checkout, stores its exit code and logs in the job folder and
# powers the VM off.
echo "usbvm: init at $(cut -d' ' -f1 /proc/uptime)s"
GUEST=/mnt/share/tools/usbvm/guest
if ! grep -q 'usbvm.nogadget' /proc/cmdline; then
  sh "$GUEST/responder.sh" up || echo "usbvm: the responder did not come up"
fi
echo "usbvm: ready at $(cut -d' ' -f1 /proc/uptime)s"
cd /mnt/share || cd /
# Python must not litter the checkout with root-owned caches from inside the VM.
export PYTHONDONTWRITEBYTECODE=1 OPENWPD_USBVM=1
{ bash /mnt/job/cmd.sh; echo $? > /tmp/rc; } 2>&1 | tee /mnt/job/guest.log
rc=$(cat /tmp/rc 2>/dev/null || echo 98)
dmesg > /mnt/job/dmesg.log 2>/dev/null
cp /tmp/umtprd.log /mnt/job/ 2>/dev/null
echo "$rc" > /mnt/job/rc
echo "usbvm: exit code $rc at $(cut -d' ' -f1 /proc/uptime)s, powering off"
sync
umount /mnt/share 2>/dev/null; umount /mnt/job 2>/dev/null
echo o > /proc/sysrq-trigger
sleep 10
