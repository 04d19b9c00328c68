"""The tiny preset's tokenizer files (package data) and the script that trains them (`build.py`)."""
