#!/usr/bin/env bash
# Records an LTTng kernel trace inside the Debian cloud kernel booted under qemu (TCG), for
# the CTF import oracle (ctf/ci.sh --kernel): this machine cannot trace its own kernel.
#
# Builds lttng-modules (Debian's lttng-modules-dkms source) for the cloud kernel, boots it with
# a busybox initramfs carrying the modules, lttng-sessiond, lttng-consumerd and lttng, records
# scheduler events and system calls (with the tid and procname contexts) around a small
# workload, and extracts the CTF trace into OUT.
#
# usage: record.sh OUT
# Needs root; installs linux-image-cloud-amd64, linux-headers-cloud-amd64, qemu-system-x86,
# busybox-static, cpio, make, gcc and lttng-tools when missing, and downloads the source of
# lttng-modules-dkms (Debian's 2.13.9 does not build its timer probe against 6.1.0-57's
# headers, so the modules are built here, without that probe).
set -euo pipefail

OUT=${1:?usage: record.sh OUT}
die() { echo "record.sh: $*" >&2; exit 1; }

need=""
KVER=$(ls /lib/modules 2>/dev/null | grep cloud-amd64 | sort -V | tail -1 || true)
[ -n "$KVER" ] && [ -f "/boot/vmlinuz-$KVER" ] && [ -d "/lib/modules/$KVER/build" ] \
    || need="$need linux-image-cloud-amd64 linux-headers-cloud-amd64"
command -v qemu-system-x86_64 >/dev/null || need="$need qemu-system-x86"
[ -x /bin/busybox ] || need="$need busybox-static"
command -v cpio >/dev/null || need="$need cpio"
command -v make >/dev/null || need="$need make"
command -v gcc >/dev/null || need="$need gcc"
command -v lttng-sessiond >/dev/null || need="$need lttng-tools"
if [ -n "$need" ]; then
    [ "$(id -u)" = 0 ] || die "needs$need (apt-get install them as root)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends $need >/dev/null
    KVER=$(ls /lib/modules | grep cloud-amd64 | sort -V | tail -1)
fi

# lttng-modules: the source of Debian's lttng-modules-dkms, downloaded and unpacked (not
# installed: its dkms build fails, see above, and would leave the package half-configured).
CACHE=${TMPDIR:-/tmp}/tracemark-lttng-modules
if [ ! -d "$CACHE/src" ]; then
    rm -rf "$CACHE" && mkdir -p "$CACHE/deb"
    (cd "$CACHE/deb" && apt-get download lttng-modules-dkms >/dev/null 2>&1) \
        || { apt-get update -qq && (cd "$CACHE/deb" && apt-get download lttng-modules-dkms >/dev/null 2>&1); } \
        || die "cannot download lttng-modules-dkms"
    dpkg-deb -x "$CACHE"/deb/*.deb "$CACHE/x"
    mv "$CACHE/x/usr/src" "$CACHE/src"
fi
SRC=$(ls -d "$CACHE"/src/lttng-modules-* | sort -V | tail -1)
[ -n "$SRC" ] || die "no lttng-modules source in $CACHE/src"

WORK=$(mktemp -d /tmp/tracemark-lttng-kernel.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

# Built once per kernel and source version, kept for the next run.
BUILT=$CACHE/build-$(basename "$SRC")-$KVER
if [ ! -f "$BUILT/built" ]; then
    echo "+ building $(basename "$SRC") for $KVER (without the timer probe) in $BUILT"
    rm -rf "$BUILT"
    cp -r "$SRC" "$BUILT"
    sed -i '/lttng-probe-timer.o/d' "$BUILT/src/probes/Kbuild"
    make -s -C "$BUILT" KERNELDIR="/lib/modules/$KVER/build" -j"$(nproc)" >"$BUILT/build.log" 2>&1 \
        || { tail -20 "$BUILT/build.log"; die "lttng-modules did not build"; }
    touch "$BUILT/built"
fi

# ---- initramfs -----------------------------------------------------------------------------
R=$WORK/root
mkdir -p "$R"/{bin,proc,sys,dev,tmp,run,root,mod,out,etc} "$R/lib/modules/$KVER/extra"
cp /bin/busybox "$R/bin/busybox"
find "$BUILT" -name '*.ko' -exec cp {} "$R/lib/modules/$KVER/extra/" \;
MODS=/lib/modules/$KVER/kernel/drivers
for m in virtio/virtio_ring virtio/virtio virtio/virtio_pci_legacy_dev \
         virtio/virtio_pci_modern_dev virtio/virtio_pci block/virtio_blk; do
    cp "$MODS/$m.ko" "$R/mod/"
done
# libkmod (how lttng-sessiond loads the modules) wants the kernel's module lists too.
cp /lib/modules/"$KVER"/modules.builtin* /lib/modules/"$KVER"/modules.order "$R/lib/modules/$KVER/"
depmod -b "$R" "$KVER"
mkdir -p "$R/usr/share/xml/lttng"
cp /usr/share/xml/lttng/session.xsd "$R/usr/share/xml/lttng/"
# LTTng's programs and every library they load.
programs="/usr/bin/lttng /usr/bin/lttng-sessiond $(ls /usr/lib/*/lttng/libexec/lttng-consumerd)"
for program in $programs; do
    mkdir -p "$R$(dirname "$program")"
    cp "$program" "$R$program"
    for lib in $(ldd "$program" | grep -o '/[^ ]*'); do
        mkdir -p "$R$(dirname "$lib")"
        cp -L "$lib" "$R$lib"
    done
done
echo "root:x:0:0:root:/root:/bin/sh" > "$R/etc/passwd"
echo "root:x:0:" > "$R/etc/group"
echo "tracing:x:0:" >> "$R/etc/group"

cat > "$R/init" <<'INIT'
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mount -t tmpfs tmp /tmp
mount -t tmpfs run /run
mkdir -p /dev/shm /var && mount -t tmpfs shm /dev/shm && ln -s /run /var/run
mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
export HOME=/root PATH=/bin:/usr/bin
say() { echo "lttng-init: $*"; }
fail() { say "FAIL: $*"; dmesg | tail -20; poweroff -f; }
for m in virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci virtio_blk; do
    insmod /mod/$m.ko || fail "insmod $m"
done
i=0
while [ ! -b /dev/vda ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done
[ -b /dev/vda ] || fail "no /dev/vda"

lttng-sessiond --background --kmod-probes=sched,signal,irq -vv > /tmp/sessiond.log 2>&1 \
    || { grep -i -E "error|warn|modprobe|module|kmod|fail" /tmp/sessiond.log | head -40; fail "lttng-sessiond"; }
i=0
while ! lttng list -k >/dev/null 2>&1 && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done
lttng create k --output=/out/trace >/dev/null || fail "create"
lttng enable-channel -k ch --subbuf-size=256K --num-subbuf=4 >/dev/null || fail "channel"
lttng enable-event -k -c ch sched_switch,sched_wakeup,sched_waking,sched_process_fork,sched_process_exec,sched_process_exit,signal_generate >/dev/null || fail "events"
lttng enable-event -k -c ch --syscall openat,read,write,close,execve,clone,wait4 >/dev/null || fail "syscalls"
lttng add-context -k -c ch -t tid -t procname >/dev/null || fail "context"
lttng start >/dev/null || fail "start"
i=0
while [ $i -lt 8 ]; do
    ( ls /bin > /dev/null; echo $i > /tmp/f$i; cat /tmp/f$i > /dev/null; kill -0 $$ ) &
    i=$((i+1))
done
wait
dd if=/dev/vda of=/dev/null bs=4k count=32 2>/dev/null
lttng stop >/dev/null || fail "stop"
lttng destroy >/dev/null || fail "destroy"
echo ok > /out/status
tar -C /out -cf /dev/vda . || fail "tar"
sync
say done
poweroff -f
INIT
chmod +x "$R/init"
(cd "$R" && find . | cpio -o -H newc --quiet | gzip -1 > "$WORK/initrd.gz")

# ---- boot ------------------------------------------------------------------------------------
dd if=/dev/zero of="$WORK/disk.img" bs=1M count=64 status=none
LOG=$OUT.boot.log
mkdir -p "$(dirname "$OUT")"
echo "+ qemu-system-x86_64 -accel tcg -smp 2 -kernel /boot/vmlinuz-$KVER"
timeout 300 qemu-system-x86_64 -accel tcg -m 1024M -smp 2 \
    -kernel "/boot/vmlinuz-$KVER" -initrd "$WORK/initrd.gz" \
    -append 'console=ttyS0 panic=-1 quiet loglevel=4' \
    -nographic -no-reboot -monitor none -nic none \
    -drive file="$WORK/disk.img",format=raw,if=virtio > "$LOG" 2>&1 \
    || { tail -30 "$LOG" >&2; die "qemu failed or timed out"; }
mkdir -p "$WORK/ex"
tar -C "$WORK/ex" -xf "$WORK/disk.img" 2>/dev/null || true
if [ "$(cat "$WORK/ex/status" 2>/dev/null)" != ok ]; then
    tail -30 "$LOG" >&2
    die "the guest did not finish"
fi
rm -rf "$OUT"
cp -r "$WORK/ex/trace" "$OUT"
echo "+ kernel trace in $OUT"
