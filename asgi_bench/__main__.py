import sys

from asgi_bench.cli import main

sys.exit(main())
