"""``python -m kubelearn``: the same as the ``kubelearn`` command."""

import sys

from kubelearn.cli import main

sys.exit(main())
