"""Make docs/serve-deck.png and docs/serve-card.png: the pages of a real `tfcards serve`.

    .venv/bin/python docs/serve_screenshot.py

Serves a copy of cards/tensors.yaml and cards/variables.yaml in which one card's `output` was
made false (as an author's slip would), and shoots the deck page and a cloze card's page with
headless Chromium (Debian: apt install chromium chromium-driver) through selenium.
"""
from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.support.ui import WebDriverWait

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="tfcards-shot-") as tmp:
        cards = Path(tmp) / "cards"
        cards.mkdir()
        for name in ("tensors.yaml", "variables.yaml"):
            shutil.copy(ROOT / "cards" / name, cards / name)
        text = (cards / "tensors.yaml").read_text()
        (cards / "tensors.yaml").write_text(text.replace("tf.Tensor(4, shape=(), dtype=int32)",
                                                         "tf.Tensor(4, size=(), dtype=int32)", 1))
        proc = subprocess.Popen([sys.executable, "-m", "generator.cli", "serve", "--port", "0",
                                 "--cache-dir", str(ROOT / "build" / ".cache")], cwd=tmp,
                                env=dict(os.environ, PYTHONPATH=str(ROOT)), stdout=subprocess.PIPE, text=True)
        options = webdriver.ChromeOptions()
        options.binary_location = shutil.which("chromium")
        for arg in ("--headless=new", "--no-sandbox", "--hide-scrollbars", "--window-size=1280,900"):
            options.add_argument(arg)
        driver = webdriver.Chrome(options=options,
                                  service=webdriver.ChromeService(executable_path=shutil.which("chromedriver")))
        try:
            url = re.search(r"http://\S+/", proc.stdout.readline()).group(0)
            driver.get(url + "?topic=Tensors+and+dtypes")
            WebDriverWait(driver, 300).until(
                lambda d: not d.find_elements("css selector", '.card-row[data-status="running"]'))
            driver.save_screenshot(str(ROOT / "docs" / "serve-deck.png"))
            driver.set_window_size(1600, 1400)
            driver.get(url + "card/tensor-dtype-int-float")
            WebDriverWait(driver, 120).until(lambda d: d.execute_script(
                "return [...document.querySelectorAll('figure.printed img')]"
                ".every(i => i.complete && i.naturalWidth > 0)"))
            time.sleep(0.5)  # the preview frames size themselves to their content
            driver.set_window_size(1600, driver.execute_script("return document.body.scrollHeight") + 120)
            time.sleep(0.3)
            driver.save_screenshot(str(ROOT / "docs" / "serve-card.png"))
        finally:
            driver.quit()
            proc.send_signal(signal.SIGINT)
            proc.wait(timeout=30)


if __name__ == "__main__":
    main()
