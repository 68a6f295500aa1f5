from mltrace_core.cli import main

main()
