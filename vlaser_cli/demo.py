"""`vlaser demo`: the Gradio demo (spaces_demo/app.py) on 127.0.0.1; `vlaser demo export DIR` writes a Space folder.

vlaser demo                                   # outputs/quickstart/policy, http://127.0.0.1:7860
vlaser demo --model you/vlaser-aloha --port 7861 --concurrency 4
vlaser demo export build/space                # app + examples + the packages it imports, ready to push
"""

from __future__ import annotations


def main(argv: list[str]) -> None:
    if argv[:1] == ["export"]:
        from spaces_demo.export import main as export_main

        export_main(argv[1:])
        return
    from spaces_demo.app import main as app_main

    app_main(argv)
