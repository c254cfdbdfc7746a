import sys

from ctrng.cli import main

sys.exit(main())
