#!/usr/bin/env bash
# Builds pycocotools from a cocoapi checkout (github.com/cocodataset/cocoapi) into DEST, for the tests that check
# exports against the real COCO.annToMask and refer.py's getMask (Debian bookworm has no python3-pycocotools).
# Needs: cython3 (apt-get install -y cython3), numpy for the python3 on PATH, a C compiler and the Python headers.
# Three source patches make the 2017 code build and run under numpy 2, as pip's pycocotools 2.0.x does; none touches
# the mask maths: NPY_OWNDATA → NPY_ARRAY_OWNDATA, Masks.__array__ accepting numpy 2's dtype/copy keywords, and
# matplotlib imported only where showAnns draws.
# Usage: scripts/build-pycocotools.sh /path/to/cocoapi /tmp/pycocotools   then   PYTHONPATH=/tmp/pycocotools/PythonAPI
set -euo pipefail
SRC=${1:?usage: build-pycocotools.sh COCOAPI_CHECKOUT DEST}
DEST=${2:?usage: build-pycocotools.sh COCOAPI_CHECKOUT DEST}
mkdir -p "$DEST"
cp -r "$SRC/PythonAPI" "$SRC/common" "$DEST/"
cd "$DEST/PythonAPI"
sed -i 's/np\.NPY_OWNDATA/np.NPY_ARRAY_OWNDATA/g' pycocotools/_mask.pyx
sed -i 's/def __array__(self):/def __array__(self, dtype=None, copy=None):/' pycocotools/_mask.pyx
sed -i -e 's/^import matplotlib.pyplot as plt$//' -e 's/^from matplotlib.*$//' pycocotools/coco.py
sed -i 's/^\(\s*\)if len(anns) == 0:$/\1import matplotlib.pyplot as plt\n\1from matplotlib.collections import PatchCollection\n\1from matplotlib.patches import Polygon\n&/' pycocotools/coco.py
SITE=$(python3 -c 'import numpy, os; print(os.path.dirname(os.path.dirname(numpy.__file__)))')
cython3 -3 -I "$SITE" pycocotools/_mask.pyx
gcc -O2 -shared -fPIC -std=c99 -Wno-cpp -Wno-unused-function \
  -I"$(python3 -c 'import numpy; print(numpy.get_include())')" \
  -I"$(python3 -c 'import sysconfig; print(sysconfig.get_paths()["include"])')" -I../common \
  ../common/maskApi.c pycocotools/_mask.c \
  -o "pycocotools/_mask$(python3 -c 'import sysconfig; print(sysconfig.get_config_var("EXT_SUFFIX"))')"
PYTHONPATH="$DEST/PythonAPI" python3 -c 'import pycocotools.coco, numpy; print("pycocotools built for numpy", numpy.__version__)'
