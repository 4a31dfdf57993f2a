import sys

from pixelport_cli.client import main

sys.exit(main())
