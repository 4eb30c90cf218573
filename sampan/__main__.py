from sampan.cli.main import main

raise SystemExit(main())
