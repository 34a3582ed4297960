#!/bin/sh
# Install this folder's programs for the current user, without copying them: links to both programs in
# ~/.local/bin, the menu entry and the icon. Run it from the bundle's folder wherever you keep it; run it again after
# moving the folder. Remove with: rm ~/.local/bin/colormnet ~/.local/bin/colormnet-studio \
#   ~/.local/share/applications/colormnet-studio.desktop ~/.local/share/icons/hicolor/scalable/apps/colormnet-studio.svg
set -eu
here=$(cd "$(dirname "$0")" && pwd)
bin="$HOME/.local/bin"
data="${XDG_DATA_HOME:-$HOME/.local/share}"
mkdir -p "$bin" "$data/applications" "$data/icons/hicolor/scalable/apps"
ln -sf "$here/colormnet-studio" "$bin/colormnet-studio"
ln -sf "$here/colormnet" "$bin/colormnet"
sed "s|^Exec=colormnet-studio|Exec=\"$here/colormnet-studio\"|" "$here/colormnet-studio.desktop" \
    > "$data/applications/colormnet-studio.desktop"
cp "$here/colormnet-studio.svg" "$data/icons/hicolor/scalable/apps/colormnet-studio.svg"
echo "Installed: colormnet-studio and colormnet in $bin, ColorMNet Studio in the applications menu."
