#!/bin/sh
# Pack a binary and the shared libraries it loads into a tarball that
# `docker import` turns into an image: the container then runs the very same
# sysbench build as the host, so "container vs native" compares only the
# container, not two builds. No registry and no base image are needed.
# Usage: sysbench-rootfs.sh BINARY OUTPUT.tar
set -eu
binary=$1
out=$2
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root/tmp" "$root$(dirname "$binary")"
cp -L "$binary" "$root$binary"
# ldd prints "name => /path (addr)" or "/path (addr)" for the loader.
ldd "$binary" | awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^\//) print $i }' |
while read -r lib; do
  mkdir -p "$root$(dirname "$lib")"
  cp -L "$lib" "$root$lib"
done
tar -C "$root" -cf "$out.partial" .
mv "$out.partial" "$out"
