"""Photos and videos: safe loading, PDQ and vPDQ hashing, OCR."""
