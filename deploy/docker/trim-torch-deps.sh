#!/bin/sh
# Debian's python3-torch drags in packages that torch never loads at run time. They are removed
# with dpkg's --force-depends on purpose: every library and Python module a real training and
# backtest load (measured from /proc/self/maps and sys.modules after both, in this image) stays.
#
# What a training does load, and so stays: libtorch_cpu links OpenCV and FFmpeg directly
# (libopencv_highgui, libopencv_videoio, libavcodec ...), and through them Qt 5, GDAL, GDCM,
# the video codecs and ICU; the dynamic linker maps them all at `import torch`, so they cannot
# go without breaking the import, although no training calls them.
set -eu
# Never mapped nor imported by a training or a backtest (measured as above):
#   torch's test binaries; the Mesa/LLVM GL stack; SMT solvers; map-projection data
#   (~250 MB in all);
#   Python packages torch depends on but never imports on the CPU path: SymPy and mpmath
#   (torch.fx's symbolic shapes), Hypothesis (its tests), future (py2 compatibility);
#   data and plug-ins of libraries that are linked but never called: GDAL's data, OCR
#   (Tesseract, Leptonica), Qt's network and D-Bus modules, OpenCV's object-detection and ML
#   modules, keyboard, MIME, font and tablet data.
for pkg in libtorch-test libgl1-mesa-dri libllvm15 libz3-4 proj-data libglapi-mesa \
           mesa-va-drivers mesa-vdpau-drivers mesa-vulkan-drivers libvulkan1 iso-codes \
           python3-sympy python3-mpmath python3-hypothesis python3-future \
           gdal-data libtesseract5 liblept5 libqt5network5 libqt5dbus5 \
           libopencv-objdetect406 libopencv-ml406 \
           xkb-data shared-mime-info fonts-dejavu-core libwacom-common \
           libgdk-pixbuf2.0-common; do
    if dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'ok installed'; then
        dpkg --purge --force-depends "$pkg" >/dev/null
    fi
done
# Prove the trim left a working torch before the layer is committed: a forward and backward
# pass, and a save and safe load (what the workers do with a model).
python3 -c '
import io, torch
model = torch.nn.Linear(2, 1)
model(torch.zeros(1, 2)).sum().backward()
buffer = io.BytesIO()
torch.save(model.state_dict(), buffer)
buffer.seek(0)
torch.load(buffer, weights_only=True)
'
