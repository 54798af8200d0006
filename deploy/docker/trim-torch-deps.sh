#!/bin/sh
# Debian's python3-torch drags in packages that torch never loads at run time (its test
# binaries, the Mesa/LLVM GL stack, SMT solvers, map-projection data). They cost ~250 MB of the
# worker's size budget. They are removed with dpkg's --force-depends on purpose: the libraries
# torch does load (measured from /proc/self/maps after a real training step) all stay.
set -eu
for pkg in libtorch-test libgl1-mesa-dri libllvm15 libz3-4 proj-data libglapi-mesa \
           mesa-va-drivers mesa-vdpau-drivers mesa-vulkan-drivers libvulkan1 iso-codes; do
    if dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'ok installed'; then
        dpkg --purge --force-depends "$pkg" >/dev/null
    fi
done
# Prove the trim left a working torch before the layer is committed.
python3 -c 'import torch; torch.nn.Linear(2, 1)(torch.zeros(1, 2)).sum().backward()'
