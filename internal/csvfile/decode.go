package csvfile

import (
	"bytes"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/unicode"
)

// Encodings reported in File.Encoding.
const (
	EncodingUTF8        = "utf-8"
	EncodingUTF8BOM     = "utf-8-bom"
	EncodingUTF16LE     = "utf-16le"
	EncodingUTF16BE     = "utf-16be"
	EncodingWindows1252 = "windows-1252"
)

var (
	bomUTF8    = []byte{0xEF, 0xBB, 0xBF}
	bomUTF16LE = []byte{0xFF, 0xFE}
	bomUTF16BE = []byte{0xFE, 0xFF}
	bomUTF32LE = []byte{0xFF, 0xFE, 0x00, 0x00}
	bomUTF32BE = []byte{0x00, 0x00, 0xFE, 0xFF}
	magicZip   = []byte("PK\x03\x04")
	magicZip0  = []byte("PK\x05\x06") // an empty zip archive
	magicOLE   = []byte{0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1}
	magicPDF   = []byte("%PDF-")
)

const saveAsCSV = "save it as CSV (File > Save As > CSV UTF-8) and upload that file"

// decode turns the uploaded bytes into UTF-8 text with "\n" line ends and
// names the encoding it found. Anything that is not a text file is a FileError.
func decode(data []byte) (text, encoding string, err error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return "", "", &FileError{Code: "empty_file", Message: "the file is empty; fill in the template and upload it"}
	}
	switch {
	case bytes.HasPrefix(data, magicOLE):
		// An .xls of Excel 97-2003, or an .xlsx with a password (Excel encrypts it into the
		// same container). Parse reads .xlsx workbooks before decode sees them.
		return "", "", &FileError{Code: "xls_unsupported",
			Message: "this looks like an Excel 97-2003 workbook (.xls) or a password-protected workbook, which cannot be read; " +
				"in Excel, save it without a password as Excel Workbook (.xlsx) or as CSV UTF-8 (File > Save As) and upload that file",
			Details: []string{"format: xls"}}
	case bytes.HasPrefix(data, magicPDF):
		return "", "", notText("this is a PDF document")
	case bytes.HasPrefix(data, bomUTF32LE), bytes.HasPrefix(data, bomUTF32BE):
		return "", "", notText("the file is UTF-32 text, which is not supported")
	}

	switch {
	case bytes.HasPrefix(data, bomUTF8):
		encoding = EncodingUTF8BOM
		data = data[len(bomUTF8):]
		if utf8.Valid(data) {
			text = string(data)
		} else {
			text = strings.ToValidUTF8(string(data), "\uFFFD")
		}
	case bytes.HasPrefix(data, bomUTF16LE):
		encoding = EncodingUTF16LE
		text, err = decodeUTF16(data[2:], unicode.LittleEndian)
	case bytes.HasPrefix(data, bomUTF16BE):
		encoding = EncodingUTF16BE
		text, err = decodeUTF16(data[2:], unicode.BigEndian)
	default:
		if e, ok := sniffUTF16(data); ok {
			encoding = e
			order := unicode.LittleEndian
			if e == EncodingUTF16BE {
				order = unicode.BigEndian
			}
			text, err = decodeUTF16(data, order)
		} else if utf8.Valid(data) {
			encoding, text = EncodingUTF8, string(data)
		} else {
			encoding = EncodingWindows1252
			var b []byte
			b, err = charmap.Windows1252.NewDecoder().Bytes(data)
			text = string(b)
		}
	}
	if err != nil {
		return "", "", notText("the file could not be read as " + encoding + " text")
	}
	// A second byte order mark (a file saved twice with one) is not data.
	text = strings.TrimPrefix(text, "\uFEFF")
	if msg := binaryText(text); msg != "" {
		return "", "", notText(msg)
	}
	if strings.IndexByte(text, '\r') >= 0 {
		// CRLF and old Mac CR-only files both become LF, so that line numbers
		// are what an editor shows and encoding/csv sees one kind of line end.
		text = strings.ReplaceAll(text, "\r\n", "\n")
		text = strings.ReplaceAll(text, "\r", "\n")
	}
	if strings.TrimSpace(text) == "" {
		return "", "", &FileError{Code: "empty_file", Message: "the file is empty; fill in the template and upload it"}
	}
	return text, encoding, nil
}

// decodeUTF16 decodes UTF-16 without a byte order mark in the given order.
func decodeUTF16(data []byte, order unicode.Endianness) (string, error) {
	b, err := unicode.UTF16(order, unicode.IgnoreBOM).NewDecoder().Bytes(data)
	return string(b), err
}

// sniffUTF16 recognises UTF-16 saved without a byte order mark: mostly
// ASCII text, so every other byte of the first few hundred is zero.
func sniffUTF16(data []byte) (string, bool) {
	n := min(len(data), 512) &^ 1
	if n < 4 {
		return "", false
	}
	var evenZero, oddZero int
	for i := 0; i < n; i += 2 {
		if data[i] == 0 {
			evenZero++
		}
		if data[i+1] == 0 {
			oddZero++
		}
	}
	pairs := n / 2
	switch {
	case oddZero*10 >= pairs*9 && evenZero == 0:
		return EncodingUTF16LE, true
	case evenZero*10 >= pairs*9 && oddZero == 0:
		return EncodingUTF16BE, true
	}
	return "", false
}

// binaryText says why text is not a text file, or returns "" when it is.
// A NUL never appears in text; a few other control characters may (a stray
// one in a name is a row error), but many of them mean binary data.
func binaryText(text string) string {
	controls := 0
	for i := 0; i < len(text); i++ {
		c := text[i]
		switch {
		case c == 0:
			return "the file contains binary data (NUL bytes), not text"
		case c < 0x20 && c != '\t' && c != '\n' && c != '\r' && c != '\f' && c != '\v', c == 0x7F:
			controls++
		}
	}
	if controls > 2 && controls*100 > len(text) {
		return "the file contains binary data (control characters), not text"
	}
	return ""
}

// notText is the FileError for an upload that is neither a CSV text file nor a workbook.
func notText(why string) *FileError {
	return &FileError{Code: "not_text",
		Message: why + "; upload the accounts as an Excel workbook (.xlsx) or a CSV file: in your spreadsheet, " + saveAsCSV}
}
