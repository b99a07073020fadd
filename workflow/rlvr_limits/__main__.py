from rlvr_limits.cli import main

raise SystemExit(main())
