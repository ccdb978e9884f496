"""Makes the helpers beside this file (book_files, builders) importable from every test folder."""
