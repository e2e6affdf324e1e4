from geotally.cli import main

main()
