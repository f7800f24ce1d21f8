#!/usr/bin/env bash
# One-time (idempotent) setup: system libraries when missing, Python 3.12 virtual environment in .venv,
# and the project with its test, robot, LIBERO and ROS 2 (rclpy wheels) extras. Re-runs are fast: nothing is redone unless
# pyproject.toml changed.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
have_lib() { ldconfig -p | grep -q "$1"; }
have_lib libEGL.so.1      || need_apt+=(libegl1)
have_lib libOSMesa.so     || need_apt+=(libosmesa6)
have_lib libGL.so.1       || need_apt+=(libgl1)
have_lib libusb-1.0.so.0  || need_apt+=(libusb-1.0-0)
# FFmpeg's shared libraries, which torchcodec (LeRobot's video decoder) loads at import: without them LeRobot falls
# back to pyav (benchmarks/video_decode.py measures both). torchcodec ships builds for FFmpeg 4-8
# (libtorchcodec_core{4..8}.so); Debian 12's ffmpeg is 5.1 (libavutil.so.57), Ubuntu 24.04's 6.1 (libavutil.so.58)
have_lib libavdevice.so.  || need_apt+=(ffmpeg)
ls /usr/lib/x86_64-linux-gnu/dri/swrast_dri.so >/dev/null 2>&1 || ls /usr/lib/*/dri/*swrast* >/dev/null 2>&1 || need_apt+=(libgl1-mesa-dri)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "[setup] installing system packages: ${need_apt[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

find_python() {
  for cand in python3.12 "$HOME"/.pyenv/versions/3.12*/bin/python3.12 /usr/bin/python3.12 /usr/local/bin/python3.12; do
    if command -v "$cand" >/dev/null 2>&1 && "$cand" -c 'import sys; assert sys.version_info[:2] == (3, 12)' 2>/dev/null; then
      echo "$cand"; return 0
    fi
  done
  return 1
}

PLUGIN=lerobot_plugins/lerobot_robot_xarm7  # the xArm 7 as a LeRobot robot (a distribution of its own: LeRobot finds plugins by name)
stamp=.venv/.installed-$(cat pyproject.toml $PLUGIN/pyproject.toml | sha1sum | cut -c1-12)
if [ ! -f "$stamp" ]; then
  if [ ! -x .venv/bin/python ]; then
    VENV_FLAGS=()
    if [ -f /opt/ros/jazzy/setup.bash ]; then
      # ROS 2 Jazzy is installed: the nodes run in this venv and import rclpy's apt dependencies from the system
      # (scripts/build_ros.sh), so the venv is Ubuntu's Python 3.12 with --system-site-packages
      PY=/usr/bin/python3.12; VENV_FLAGS=(--system-site-packages)
    else
      PY=$(find_python) || { echo "[setup] Python 3.12 not found: install it (LeRobot 0.6 needs 3.12), e.g. 'pyenv install 3.12' or 'apt install python3.12-venv'." >&2; exit 1; }
    fi
    echo "[setup] creating .venv with $PY ${VENV_FLAGS[*]}"
    "$PY" -m venv "${VENV_FLAGS[@]}" .venv
  fi
  .venv/bin/python -m pip install -q --disable-pip-version-check uv==0.13.8
  echo "[setup] installing the project and its pinned dependencies (torch is a ~3 GB download the first time)"
  # the ros extra: Jazzy's rclpy and messages from PyPI, so the ROS tests run here; where apt's Jazzy is installed
  # the venv sees it (--system-site-packages) and the wheels would shadow it
  extras=robot,libero,dev; [ -f /opt/ros/jazzy/setup.bash ] || extras=$extras,ros
  .venv/bin/uv pip install --python .venv/bin/python -q -e ".[$extras]" -e "./$PLUGIN"
  rm -f .venv/.installed-*; touch "$stamp"
fi
echo "[setup] ready: .venv ($(.venv/bin/python --version))"
