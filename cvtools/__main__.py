import sys

from cvtools.cli import main

sys.exit(main())
