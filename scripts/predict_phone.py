"""Predict phone price ranges with a saved model: same as `kerasopt predict`.

Usage:
    python scripts/predict_phone.py --model runs/phone/model.keras --data unlabeled.csv --out predictions.csv
"""

import sys

from kerasopt.cli import main

if __name__ == "__main__":
    sys.exit(main(["predict", *sys.argv[1:]]))
