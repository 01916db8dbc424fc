"""Make the demo's document lesson: a three-page guide to safe water at home (A5, ReportLab)."""

from pathlib import Path

from reportlab.lib import colors
from reportlab.lib.pagesizes import A5
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import PageBreak, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

OUT = Path(__file__).resolve().parent.parent  # tenants/demo/media
styles = getSampleStyleSheet()
h1 = ParagraphStyle("h1", parent=styles["Heading1"], textColor=colors.HexColor("#0b6e4f"), fontSize=20)
h2 = ParagraphStyle("h2", parent=styles["Heading2"], textColor=colors.HexColor("#0b6e4f"))
body = ParagraphStyle("body", parent=styles["BodyText"], fontSize=11, leading=15)
story = [
    Paragraph("Safe water at home", h1),
    Paragraph("A short guide for families. Savannah Academy, science club.", body),
    Spacer(1, 6 * mm),
    Paragraph("Why it matters", h2),
    Paragraph("Water can look clear and still carry germs that cause diarrhoea, typhoid and cholera. "
              "Children are the most at risk. Three habits keep a family safe: <b>treat</b> the water, "
              "<b>store</b> it well, and <b>keep hands clean</b>.", body),
    Spacer(1, 4 * mm),
    Paragraph("Where germs come from", h2),
    Paragraph("Open wells and rivers collect what rain washes into them. Jerrycans that are not cleaned grow "
              "slime inside. Hands that dip cups into a container bring germs with them.", body),
    PageBreak(),
    Paragraph("1. Treat the water", h2),
    Table([
        ["Method", "How", "Time"],
        ["Boiling", "Bring to a rolling boil", "1 minute"],
        ["Chlorine", "3 drops per litre, mix", "30 minutes"],
        ["Sunlight (SODIS)", "Clear bottle in full sun", "6 hours"],
        ["Filter", "Ceramic or cloth, then treat", "varies"],
    ], colWidths=[32 * mm, 55 * mm, 25 * mm], style=TableStyle([
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#0b6e4f")),
        ("TEXTCOLOR", (0, 0), (-1, 0), colors.white),
        ("GRID", (0, 0), (-1, -1), 0.5, colors.grey),
        ("FONTSIZE", (0, 0), (-1, -1), 9),
    ])),
    Spacer(1, 4 * mm),
    Paragraph("Cloudy water? Let it settle or filter it through a clean cloth first, then treat it.", body),
    PageBreak(),
    Paragraph("2. Store it well", h2),
    Paragraph("Use a container with a narrow mouth and a lid or a tap. Pour, never dip. Wash the container "
              "with soap every week.", body),
    Spacer(1, 4 * mm),
    Paragraph("3. Keep hands clean", h2),
    Paragraph("Wash hands with soap after the toilet and before food. A tippy-tap by the door makes it easy.", body),
    Spacer(1, 6 * mm),
    Paragraph("<b>Check yourself:</b> which method needs no fuel and no chemicals? (Answer: sunlight.)", body),
]


def footer(canvas, doc):
    canvas.saveState()
    canvas.setFont("Helvetica", 8)
    canvas.setFillColor(colors.grey)
    canvas.drawString(15 * mm, 8 * mm, "TajiConnect demo content, CC0")
    canvas.drawRightString(A5[0] - 15 * mm, 8 * mm, f"Page {doc.page} of 3")
    canvas.restoreState()


doc = SimpleDocTemplate(str(OUT / "safe-water-guide.pdf"), pagesize=A5, leftMargin=15 * mm, rightMargin=15 * mm,
                        topMargin=15 * mm, bottomMargin=15 * mm, title="Safe water at home",
                        author="Savannah Academy (TajiConnect demo)")
doc.build(story, onFirstPage=footer, onLaterPages=footer)
