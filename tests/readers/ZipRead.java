// Reads a zip the way CodePipeline does, with java.util.zip.ZipInputStream, and prints one line
// per entry: name, method, size and CRC-32 as known from the local header (before the data is
// read; -1 when the entry defers them to a data descriptor), then the sha256 of the data read.
// Run: java ZipRead.java FILE.zip
import java.io.FileInputStream;
import java.io.InputStream;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;

public class ZipRead {
    public static void main(String[] args) throws Exception {
        try (InputStream file = new FileInputStream(args[0]);
             ZipInputStream zip = new ZipInputStream(file)) {
            ZipEntry entry;
            byte[] buf = new byte[8192];
            while ((entry = zip.getNextEntry()) != null) {
                String method = entry.getMethod() == ZipEntry.DEFLATED ? "DEFLATED"
                        : entry.getMethod() == ZipEntry.STORED ? "STORED" : "OTHER";
                long size = entry.getSize();
                long crc = entry.getCrc();
                MessageDigest sha = MessageDigest.getInstance("SHA-256");
                long read = 0;
                int n;
                while ((n = zip.read(buf)) > 0) {
                    sha.update(buf, 0, n);
                    read += n;
                }
                System.out.printf("%s\t%s\t%d\t%d\t%d\t%s%n", entry.getName(), method, size, crc,
                        read, HexFormat.of().formatHex(sha.digest()));
            }
        }
    }
}
