#!/usr/bin/env bash
# Build the ROS 2 workspace (robot_ws: the srpo_ros package) so that its nodes run in the project's virtual
# environment. Needs ROS 2 Jazzy from apt (/opt/ros/jazzy), apt's colcon, and .venv from scripts/setup.sh made
# with --system-site-packages; it installs none of them. Extra arguments go to `colcon build`.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
ROS_SETUP=${ROS_SETUP:-/opt/ros/jazzy/setup.bash}
fail() { echo "[build_ros] $*" >&2; exit 1; }

[ -f "$ROS_SETUP" ] || fail "ROS 2 Jazzy not found ($ROS_SETUP): install it with apt first (docs/robot.md, 'ROS 2')."
command -v colcon >/dev/null || fail "colcon not found: sudo apt install python3-colcon-common-extensions"
[ -x .venv/bin/python ] || fail "no .venv: run scripts/setup.sh (with ROS installed it makes the venv ROS can use)"
grep -qi '^include-system-site-packages *= *true' .venv/pyvenv.cfg \
  || fail ".venv was made without --system-site-packages, so the nodes cannot import rclpy's apt dependencies: rm -rf .venv && scripts/setup.sh"
case " $* " in *" --symlink-install "*) fail "--symlink-install writes its scripts with colcon's own interpreter; build without it";; esac

set +u; source "$ROS_SETUP"; set -u  # ROS's setup scripts read unset variables
.venv/bin/python -c "import rclpy, srpo" 2>/dev/null \
  || fail ".venv/bin/python cannot import rclpy and srpo after sourcing $ROS_SETUP (is .venv Python 3.12 from /usr/bin?)"

# The nodes' shebang: setup.py passes SRPO_PYTHON to setuptools' build_scripts.executable. colcon itself runs
# under the system Python (apt's colcon and its setuptools); the venv's setuptools 81 breaks ament_python builds.
export SRPO_PYTHON="$ROOT/.venv/bin/python"
cd robot_ws
env -u VIRTUAL_ENV colcon build --packages-select srpo_ros "$@"
head -1 install/srpo_ros/lib/srpo_ros/recorder_node | grep -qF "$SRPO_PYTHON" \
  || fail "install/srpo_ros/lib/srpo_ros/recorder_node does not start with #!$SRPO_PYTHON; remove robot_ws/build and robot_ws/install and rerun"
echo "[build_ros] built; in every terminal: source /opt/ros/jazzy/setup.bash && source $ROOT/robot_ws/install/setup.bash"
