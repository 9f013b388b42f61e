#!/bin/bash
# SPDX-License-Identifier: MIT OR Apache-2.0
#
# boot-test.sh OUTDIR - build tracemark.ko, boot the Debian cloud kernel
# under qemu (TCG) with a busybox initramfs, trace a small workload, and
# extract the trace directory into OUTDIR (console log in OUTDIR.boot.log).
# TMK_KMOD_PARAMS="subbuf_size=4096 nr_subbufs=2" passes module parameters.
#
# Needs: linux-image-cloud-amd64 linux-headers-cloud-amd64
#        qemu-system-x86 busybox-static cpio (ci.sh installs them).
set -euo pipefail

OUT=${1:?usage: boot-test.sh OUTDIR}
HERE=$(cd "$(dirname "$0")" && pwd)
KVER=$(ls /lib/modules | grep cloud-amd64 | sort -V | tail -1)
[ -n "$KVER" ] || { echo "boot-test: no *-cloud-amd64 kernel installed" >&2; exit 1; }
KIMG=/boot/vmlinuz-$KVER
MODS=/lib/modules/$KVER/kernel/drivers
WORK=$(mktemp -d /tmp/tmk-boot.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

echo "+ make -C $HERE/kmod KVER=$KVER"
make -s -C "$HERE/kmod" KVER="$KVER"

# ---- initramfs ------------------------------------------------------------
R=$WORK/root
mkdir -p "$R"/{bin,proc,sys,dev,mod,out/trace,tmp}
cp /bin/busybox "$R/bin/busybox"
for m in virtio/virtio_ring virtio/virtio virtio/virtio_pci_legacy_dev \
         virtio/virtio_pci_modern_dev virtio/virtio_pci block/virtio_blk; do
	cp "$MODS/$m.ko" "$R/mod/"
done
cp "$HERE/kmod/tracemark.ko" "$R/mod/"

cat > "$R/init" <<'EOF'
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mount -t debugfs debugfs /sys/kernel/debug
say() { echo "tmk-init: $*"; }
fail() { say "FAIL: $*"; dmesg | tail -30; poweroff -f; }

# virtio is modular in the cloud kernel: dependencies first.
for m in virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev \
         virtio_pci virtio_blk; do
	insmod /mod/$m.ko || fail "insmod $m"
done
i=0
while [ ! -b /dev/vda ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done
[ -b /dev/vda ] || fail "no /dev/vda"

insmod /mod/tracemark.ko @PARAMS@ || fail "insmod tracemark"
D=/sys/kernel/debug/tracemark
[ -d $D ] || fail "no $D"

# One live consumer per CPU stream, reading while the probes write.
cpids=""
for f in $D/stream-*.tmk; do
	cat $f > /out/trace/${f##*/} &
	cpids="$cpids $!"
done

# Workload: forks, execs, sleeps, some I/O.
wpids=""
i=0
while [ $i -lt 12 ]; do
	( sleep 0.0$i; ls /bin > /dev/null; echo $i > /tmp/f$i; cat /tmp/f$i > /dev/null ) &
	wpids="$wpids $!"
	i=$((i+1))
done
# Disk reads: virtio-blk interrupts for the irq_handler_* probes.
dd if=/dev/vda of=/dev/null bs=4k count=64 iflag=direct 2>/dev/null ||
	dd if=/dev/vda of=/dev/null bs=4k count=64 2>/dev/null
for p in $wpids; do wait $p; done
sleep 0.2
echo "mark workload done" > $D/control || fail "mark"
echo stop > $D/control || fail "stop"
for p in $cpids; do wait $p; done
cat $D/metadata > /out/trace/metadata || fail "metadata"
rmmod tracemark || fail "rmmod"
dmesg > /out/dmesg.txt
echo ok > /out/status
ls -l /out/trace
tar -C /out -cf /dev/vda . || fail "tar"
sync
say done
poweroff -f
EOF
sed -i "s|@PARAMS@|${TMK_KMOD_PARAMS:-}|" "$R/init"
chmod +x "$R/init"
(cd "$R" && find . | cpio -o -H newc --quiet | gzip -1 > "$WORK/initrd.gz")

# ---- boot -------------------------------------------------------------------
dd if=/dev/zero of="$WORK/disk.img" bs=1M count=32 status=none
LOG=$OUT.boot.log
mkdir -p "$(dirname "$OUT")"
echo "+ qemu-system-x86_64 -accel tcg -smp 2 -kernel $KIMG (log: $LOG)"
timeout 240 qemu-system-x86_64 -accel tcg -m 512M -smp 2 \
	-kernel "$KIMG" -initrd "$WORK/initrd.gz" \
	-append 'console=ttyS0 panic=-1 quiet loglevel=4' \
	-nographic -no-reboot -monitor none -nic none \
	-drive file="$WORK/disk.img",format=raw,if=virtio > "$LOG" 2>&1 || {
	echo "boot-test: qemu failed or timed out; tail of $LOG:" >&2
	tail -30 "$LOG" >&2
	exit 1
}

# ---- extract ------------------------------------------------------------------
mkdir -p "$WORK/ex"
tar -C "$WORK/ex" -xf "$WORK/disk.img" 2>/dev/null || true
if [ "$(cat "$WORK/ex/status" 2>/dev/null)" != ok ]; then
	echo "boot-test: guest did not finish; tail of $LOG:" >&2
	tail -30 "$LOG" >&2
	exit 1
fi
rm -rf "$OUT"
cp -r "$WORK/ex/trace" "$OUT"
cp "$WORK/ex/dmesg.txt" "$OUT.dmesg.txt"
echo "boot-test: trace in $OUT:"
ls -l "$OUT"
