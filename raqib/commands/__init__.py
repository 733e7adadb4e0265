"""One module per `raqib` command (or group of sub-commands), each importing what it runs at
its top. raqib/cli.py parses the command line and imports only the chosen command's module
(`COMMANDS` there names each one's function); a module here is never imported by another
part of Raqib."""
