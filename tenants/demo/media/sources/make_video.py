"""Make the demo's short lesson video: a sun over a solar panel charging a lamp (12 s, 480x270, H.264)."""

import math
from pathlib import Path

import av
from PIL import Image, ImageDraw, ImageFont

OUT = Path(__file__).resolve().parent.parent  # tenants/demo/media
W, H, FPS, SECONDS = 480, 270, 15, 12
font = ImageFont.load_default(size=20)
small = ImageFont.load_default(size=15)
captions = [
    (0, "Sunlight carries energy"),
    (3, "A solar panel turns light into electricity"),
    (6, "A battery stores it for the night"),
    (9, "...and the lamp shines after sunset"),
]
out = av.open(str(OUT / "solar-basics.mp4"), "w", options={"movflags": "+faststart"})
stream = out.add_stream("libx264", rate=FPS)
stream.width, stream.height, stream.pix_fmt = W, H, "yuv420p"
stream.options = {"crf": "30", "preset": "slow", "tune": "animation"}
for i in range(FPS * SECONDS):
    t = i / FPS
    night = max(0.0, min(1.0, (t - 8.5) / 1.5))
    sky = tuple(int(a + (b - a) * night) for a, b in zip((135, 200, 245), (20, 30, 70), strict=True))
    img = Image.new("RGB", (W, H), sky)
    d = ImageDraw.Draw(img)
    # the sun moves across the sky and sets
    sx = 40 + t * 30
    sy = 60 + 170 * max(0.0, (t - 5) / 4) ** 2
    if sy < 230:
        d.ellipse([sx - 22, sy - 22, sx + 22, sy + 22], fill=(255, 205, 60))
        for k in range(8):
            a = k * math.pi / 4 + t
            d.line([sx + 28 * math.cos(a), sy + 28 * math.sin(a), sx + 38 * math.cos(a), sy + 38 * math.sin(a)],
                   fill=(255, 205, 60), width=3)
    d.rectangle([0, 200, W, H], fill=(70, 130, 60))
    # panel, wire, battery, lamp
    d.polygon([(150, 195), (250, 195), (265, 160), (165, 160)], fill=(30, 60, 120), outline=(220, 220, 220))
    charge = min(1.0, t / 8.0)
    d.line([(250, 185), (330, 185)], fill=(40, 40, 40), width=3)
    d.rectangle([330, 160, 360, 200], outline=(240, 240, 240), width=2)
    d.rectangle([333, 197 - int(34 * charge), 357, 197], fill=(80, 200, 90))
    d.line([(360, 185), (410, 185), (410, 120)], fill=(40, 40, 40), width=3)
    glow = (255, 240, 150) if night > 0.3 else (200, 200, 200)
    if night > 0.3:
        d.ellipse([380, 75, 440, 135], fill=(90, 80, 40))
    d.ellipse([398, 95, 422, 119], fill=glow)
    text = [c for s, c in captions if t >= s][-1]
    d.rectangle([0, 0, W, 34], fill=(0, 0, 0))
    d.text((12, 7), text, fill=(255, 255, 255), font=font)
    d.text((W - 150, H - 22), "TajiConnect demo", fill=(230, 230, 230), font=small)
    frame = av.VideoFrame.from_image(img)
    for packet in stream.encode(frame):
        out.mux(packet)
for packet in stream.encode():
    out.mux(packet)
out.close()
