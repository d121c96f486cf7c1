"""The one C extension; everything else is declared in pyproject.toml.

`approvals.audit._leafcheck` is the one-pass canonical-form check of audit
verification (src/approvals/audit/_leafcheck.c). It is optional: without a C compiler
the package still installs and verifies, more slowly. Declared here rather than in
`[tool.setuptools] ext-modules`, which setuptools still marks experimental.
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "approvals.audit._leafcheck",
            sources=["src/approvals/audit/_leafcheck.c"],
            extra_compile_args=["-O2"],
            optional=True,
        )
    ]
)
