using System.Buffers;
using System.Text;
using Gateway.Protocol.Proxy;

namespace Gateway.Protocol.Tests.Proxy;

public class ProxyProtocolParserTests
{
    private static readonly UInt128 AllOnes128 = UInt128.MaxValue;

    private static UInt128 V4(byte a, byte b, byte c, byte d) => ((uint)a << 24) | ((uint)b << 16) | ((uint)c << 8) | d;

    private static UInt128 V6(params ushort[] groups)
    {
        UInt128 value = 0;
        foreach (ushort group in groups)
        {
            value = (value << 16) | group;
        }

        return value;
    }

    private static byte[] Ascii(string text) => Encoding.ASCII.GetBytes(text);

    /// <summary>Hex with spaces and "|" as field separators, for readable v2 headers.</summary>
    private static byte[] Hex(string hex) => Convert.FromHexString(hex.Replace(" ", "").Replace("|", ""));

    private const string Signature = "0D0A0D0A000D0A515549540A";

    private static ProxyHeader V1(int length, ProxyAddressFamily family, UInt128 source, UInt128 destination, ushort sourcePort, ushort destinationPort) =>
        new(length, 1, ProxyCommand.Proxy, family, ProxyTransport.Stream, source, destination, sourcePort, destinationPort);

    private static ProxyHeader V2(int length, ProxyAddressFamily family, ProxyTransport transport, UInt128 source, UInt128 destination, ushort sourcePort, ushort destinationPort) =>
        new(length, 2, ProxyCommand.Proxy, family, transport, source, destination, sourcePort, destinationPort);

    private const string Ffff8 = "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff";

    // AWS NLB's VPC endpoint TLV (PP2_TYPE_AWS 0xEA, subtype 0x01 PP2_SUBTYPE_AWS_VPCE_ID, then the id).
    private const string AwsVpceTlv = "EA 0016 01 767063652D30386432626631356661633530303163";

    /// <summary>Each valid header by name: its bytes and what it must decode to.</summary>
    private static readonly Dictionary<string, (byte[] Bytes, ProxyHeader Expected)> Valid = new()
    {
        // §2.1's example line.
        ["v1 TCP4 spec example"] = (Ascii("PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n"),
            V1(47, ProxyAddressFamily.IPv4, V4(192, 168, 0, 1), V4(192, 168, 0, 11), 56324, 443)),
        // §2.1: the longest TCP4 line (56 chars).
        ["v1 TCP4 longest"] = (Ascii("PROXY TCP4 255.255.255.255 255.255.255.255 65535 65535\r\n"),
            V1(56, ProxyAddressFamily.IPv4, V4(255, 255, 255, 255), V4(255, 255, 255, 255), 65535, 65535)),
        ["v1 TCP4 zeros"] = (Ascii("PROXY TCP4 0.0.0.0 10.0.0.1 0 0\r\n"),
            V1(33, ProxyAddressFamily.IPv4, 0, V4(10, 0, 0, 1), 0, 0)),
        // §2.1: the longest TCP6 line (104 chars).
        ["v1 TCP6 longest"] = (Ascii($"PROXY TCP6 {Ffff8} {Ffff8} 65535 65535\r\n"),
            V1(104, ProxyAddressFamily.IPv6, AllOnes128, AllOnes128, 65535, 65535)),
        ["v1 TCP6 compressed"] = (Ascii("PROXY TCP6 2001:db8::1 ::1 40000 443\r\n"),
            V1(38, ProxyAddressFamily.IPv6, V6(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1), 1, 40000, 443)),
        ["v1 TCP6 upper case, gap at the end"] = (Ascii("PROXY TCP6 FE80:0:0:0:A:B:C:: 1:2:3:4:5:6:7:8 1 2\r\n"),
            V1(51, ProxyAddressFamily.IPv6, V6(0xfe80, 0, 0, 0, 0xa, 0xb, 0xc, 0), V6(1, 2, 3, 4, 5, 6, 7, 8), 1, 2)),
        ["v1 TCP6 all zero"] = (Ascii("PROXY TCP6 :: :: 0 0\r\n"),
            V1(22, ProxyAddressFamily.IPv6, 0, 0, 0, 0)),
        // inet_ntop's form of IPv4-mapped addresses (RFC 4291 §2.2 item 3).
        ["v1 TCP6 IPv4-mapped"] = (Ascii("PROXY TCP6 ::ffff:192.0.2.7 ::ffff:10.0.0.1 50000 3000\r\n"),
            V1(56, ProxyAddressFamily.IPv6, V6(0, 0, 0, 0, 0, 0xffff, 0xc000, 0x0207), V6(0, 0, 0, 0, 0, 0xffff, 0x0a00, 0x0001), 50000, 3000)),
        // §2.1: the short UNKNOWN form (15 chars) and the worst case (107 chars): the rest of the line is ignored.
        ["v1 UNKNOWN short"] = (Ascii("PROXY UNKNOWN\r\n"),
            new ProxyHeader(15, 1, ProxyCommand.Proxy, ProxyAddressFamily.Unspecified, ProxyTransport.Unspecified)),
        ["v1 UNKNOWN worst case"] = (Ascii($"PROXY UNKNOWN {Ffff8} {Ffff8} 65535 65535\r\n"),
            new ProxyHeader(107, 1, ProxyCommand.Proxy, ProxyAddressFamily.Unspecified, ProxyTransport.Unspecified)),
        ["v1 UNKNOWN with free text"] = (Ascii("PROXY UNKNOWN what ever\r\n"),
            new ProxyHeader(25, 1, ProxyCommand.Proxy, ProxyAddressFamily.Unspecified, ProxyTransport.Unspecified)),

        // HAProxy 2.x send-proxy-v2, captured: TCP over IPv4 172.19.0.1:42578 → 172.19.0.3:80.
        ["v2 TCP4 haproxy"] = (Hex($"{Signature} 21 11 000C | AC130001 AC130003 A652 0050"),
            V2(28, ProxyAddressFamily.IPv4, ProxyTransport.Stream, V4(172, 19, 0, 1), V4(172, 19, 0, 3), 42578, 80)),
        ["v2 TCP6"] = (Hex($"{Signature} 21 21 0024 | 20010DB8000000000000000000000001 00000000000000000000000000000001 9C40 01BB"),
            V2(52, ProxyAddressFamily.IPv6, ProxyTransport.Stream, V6(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1), 1, 40000, 443)),
        ["v2 UDP4"] = (Hex($"{Signature} 21 12 000C | 0A000001 0A000002 0035 0035"),
            V2(28, ProxyAddressFamily.IPv4, ProxyTransport.Datagram, V4(10, 0, 0, 1), V4(10, 0, 0, 2), 53, 53)),
        // §2.2: LOCAL (a health check) with no address block, and with one that must be skipped, whatever the family.
        ["v2 LOCAL"] = (Hex($"{Signature} 20 00 0000"),
            new ProxyHeader(16, 2, ProxyCommand.Local, ProxyAddressFamily.Unspecified, ProxyTransport.Unspecified)),
        ["v2 LOCAL with a block"] = (Hex($"{Signature} 20 11 000C | 7F000001 7F000001 1F90 1F90"),
            new ProxyHeader(28, 2, ProxyCommand.Local, ProxyAddressFamily.Unspecified, ProxyTransport.Unspecified)),
        ["v2 LOCAL undefined family"] = (Hex($"{Signature} 20 FF 0000"),
            new ProxyHeader(16, 2, ProxyCommand.Local, ProxyAddressFamily.Unspecified, ProxyTransport.Unspecified)),
        // §2.2: AF_UNSPEC / UNSPEC transport: accepted, address information ignored (here 4 opaque bytes).
        ["v2 PROXY AF_UNSPEC"] = (Hex($"{Signature} 21 00 0004 | 01020304"),
            new ProxyHeader(20, 2, ProxyCommand.Proxy, ProxyAddressFamily.Unspecified, ProxyTransport.Unspecified)),
        ["v2 PROXY INET with UNSPEC transport"] = (Hex($"{Signature} 21 10 0000"),
            new ProxyHeader(16, 2, ProxyCommand.Proxy, ProxyAddressFamily.IPv4, ProxyTransport.Unspecified)),
        ["v2 UNIX stream"] = (Hex($"{Signature} 21 31 00D8 | {new string('0', 432)}"),
            new ProxyHeader(232, 2, ProxyCommand.Proxy, ProxyAddressFamily.Unix, ProxyTransport.Stream)),
        // TLVs are skipped: AWS's VPC endpoint id, a NOOP of length 0, a CRC32C (not verified: optional, §2.2.3).
        ["v2 TCP4 with AWS TLV"] = (Hex($"{Signature} 21 11 0025 | C0A80001 C0A8000B DC04 01BB | {AwsVpceTlv}"),
            V2(53, ProxyAddressFamily.IPv4, ProxyTransport.Stream, V4(192, 168, 0, 1), V4(192, 168, 0, 11), 56324, 443)),
        ["v2 TCP6 with NOOP and CRC32C TLVs"] = (Hex($"{Signature} 21 21 002E | {new string('F', 64)} 0001 0002 | 04 0000 | 03 0004 DEADBEEF"),
            V2(62, ProxyAddressFamily.IPv6, ProxyTransport.Stream, AllOnes128, AllOnes128, 1, 2)),
    };

    public static TheoryData<string> ValidNames => [.. Valid.Keys];

    // What follows the header on the wire: the first HTTP request, which the header must not take in.
    private static readonly byte[] Request = Ascii("GET /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\n\r\n");

    [Theory]
    [MemberData(nameof(ValidNames))]
    public void TryParse_ValidHeaderInEveryShape_ReadsEveryField(string name)
    {
        (byte[] bytes, ProxyHeader expected) = Valid[name];
        Assert.Equal(bytes.Length, expected.Length);
        foreach (byte[] input in new[] { bytes, [.. bytes, .. Request] })
        {
            foreach ((string shape, ReadOnlySequence<byte> sequence) in Shapes.Sequences(input))
            {
                OperationStatus status = ProxyProtocolParser.TryParse(sequence, out ProxyHeader header, out ProtocolError error);

                Assert.True(OperationStatus.Done == status, $"{name}, {shape}: {status} {error}");
                Assert.Equal(ProtocolError.None, error);
                Assert.Equal(expected, header);
            }
        }
    }

    [Theory]
    [MemberData(nameof(ValidNames))]
    public void TryParse_EveryPrefixOfValidHeader_NeedsMoreData(string name)
    {
        byte[] bytes = Valid[name].Bytes;
        for (int length = 0; length < bytes.Length; length++)
        {
            OperationStatus status = ProxyProtocolParser.TryParse(TestSequenceSegment.Split(bytes.AsSpan(0, length).ToArray(), length / 2), out ProxyHeader header, out ProtocolError error);

            Assert.True(OperationStatus.NeedMoreData == status, $"{name}, {length} bytes: {status} {error}");
            Assert.Equal(default, header);
        }
    }

    [Theory]
    [MemberData(nameof(ValidNames))]
    public void Write_DecodedHeader_ReadsBackEqual(string name)
    {
        ProxyHeader expected = Valid[name].Expected;
        var writer = new ArrayBufferWriter<byte>();
        ProxyProtocolWriter.Write(writer, expected);

        Assert.Equal(OperationStatus.Done, ProxyProtocolParser.TryParse(new ReadOnlySequence<byte>(writer.WrittenMemory), out ProxyHeader header, out _));
        Assert.Equal(writer.WrittenCount, header.Length);
        Assert.Equal(expected.HasAddresses, header.HasAddresses);
        Assert.Equal((expected.Command, expected.SourceAddress, expected.DestinationAddress, expected.SourcePort, expected.DestinationPort),
            (header.Command, header.SourceAddress, header.DestinationAddress, header.SourcePort, header.DestinationPort));
    }

    [Fact]
    public void HasAddresses_OnlyForRelayedIPConnections()
    {
        Assert.True(Valid["v1 TCP4 spec example"].Expected.HasAddresses);
        Assert.True(Valid["v2 TCP6"].Expected.HasAddresses);
        Assert.True(Valid["v2 UDP4"].Expected.HasAddresses);
        Assert.False(Valid["v1 UNKNOWN short"].Expected.HasAddresses);
        Assert.False(Valid["v2 LOCAL with a block"].Expected.HasAddresses);
        Assert.False(Valid["v2 PROXY AF_UNSPEC"].Expected.HasAddresses);
        Assert.False(Valid["v2 PROXY INET with UNSPEC transport"].Expected.HasAddresses);
        Assert.False(Valid["v2 UNIX stream"].Expected.HasAddresses);
    }

    [Fact]
    public void CopySourceAddress_WritesNetworkOrder()
    {
        Span<byte> bytes = stackalloc byte[16];
        ProxyHeader v4 = Valid["v1 TCP4 spec example"].Expected;
        Assert.Equal(4, v4.CopySourceAddress(bytes));
        Assert.Equal(new byte[] { 192, 168, 0, 1 }, bytes.Slice(0, 4).ToArray());
        Assert.Equal(4, v4.CopyDestinationAddress(bytes));
        Assert.Equal(new byte[] { 192, 168, 0, 11 }, bytes.Slice(0, 4).ToArray());

        ProxyHeader v6 = Valid["v1 TCP6 compressed"].Expected;
        Assert.Equal(16, v6.CopySourceAddress(bytes));
        Assert.Equal(Convert.FromHexString("20010DB8000000000000000000000001"), bytes.ToArray());
    }

    [Fact]
    public void WriteV1_IPv6_WritesTheSpecsFullForm()
    {
        var writer = new ArrayBufferWriter<byte>();
        ProxyProtocolWriter.WriteV1(writer, Valid["v1 TCP6 compressed"].Expected);

        Assert.Equal("PROXY TCP6 2001:0db8:0000:0000:0000:0000:0000:0001 0000:0000:0000:0000:0000:0000:0000:0001 40000 443\r\n", Encoding.ASCII.GetString(writer.WrittenSpan));
    }

    [Fact]
    public void WriteV2_WithTlvs_CountsThemInTheLength()
    {
        var writer = new ArrayBufferWriter<byte>();
        ProxyHeader header = Valid["v2 TCP4 with AWS TLV"].Expected;
        ProxyProtocolWriter.WriteV2(writer, header, Hex(AwsVpceTlv));

        Assert.Equal(Valid["v2 TCP4 with AWS TLV"].Bytes, writer.WrittenSpan.ToArray());
    }

    /// <summary>Each malformed header by name: its bytes and the reason it is refused.</summary>
    private static readonly Dictionary<string, (byte[] Bytes, ProtocolError Error)> Malformed = new()
    {
        // Not a PROXY header at all: refused from the first byte that differs.
        ["HTTP request"] = (Ascii("GET / HTTP/1.1\r\n"), ProtocolError.ProxyHeaderMissing),
        ["first byte"] = (Ascii("G"), ProtocolError.ProxyHeaderMissing),
        ["v1 prefix case"] = (Ascii("PROXy TCP4"), ProtocolError.ProxyHeaderMissing),
        ["v1 prefix without space"] = (Ascii("PROXYTCP4"), ProtocolError.ProxyHeaderMissing),
        ["v1 early CRLF"] = (Ascii("PROX\r\n"), ProtocolError.ProxyHeaderMissing),
        ["v2 signature byte 7"] = (Hex("0D0A0D0A000D0A52"), ProtocolError.ProxyHeaderMissing),
        ["v2 signature as text"] = (Ascii("\r\n\r\nQUIT\n"), ProtocolError.ProxyHeaderMissing),

        // v1 line ends (§2.1: CRLF within 107 bytes, never a lone CR or LF).
        ["v1 lone LF"] = (Ascii("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n"), ProtocolError.InvalidProxyLine),
        ["v1 lone LF inside"] = (Ascii("PROXY TCP4 1.2.3.4\n5.6.7.8 1 2\r\n"), ProtocolError.InvalidProxyLine),
        ["v1 lone CR"] = (Ascii("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\rX"), ProtocolError.InvalidProxyLine),
        ["v1 no CRLF in 107 bytes"] = (Ascii("PROXY UNKNOWN " + new string('a', 93)), ProtocolError.ProxyLineTooLong),
        ["v1 CRLF at 108"] = (Ascii($"PROXY UNKNOWN {Ffff8} {Ffff8} 65535 655350\r\n"), ProtocolError.ProxyLineTooLong),
        ["v1 CR at 107, LF after"] = (Ascii($"PROXY UNKNOWN {Ffff8} {Ffff8} 65535 655350\r"), ProtocolError.ProxyLineTooLong),
        ["v1 LF at 107"] = (Ascii($"PROXY UNKNOWN {Ffff8} {Ffff8} 65535 65535\n"), ProtocolError.InvalidProxyLine),

        // v1 syntax.
        ["v1 empty"] = (Ascii("PROXY \r\n"), ProtocolError.InvalidProxyLine),
        ["v1 unknown protocol"] = (Ascii("PROXY TCP5 1.2.3.4 5.6.7.8 1 2\r\n"), ProtocolError.InvalidProxyLine),
        ["v1 lower-case protocol"] = (Ascii("PROXY tcp4 1.2.3.4 5.6.7.8 1 2\r\n"), ProtocolError.InvalidProxyLine),
        ["v1 UNKNOWN glued"] = (Ascii("PROXY UNKNOWNX\r\n"), ProtocolError.InvalidProxyLine),
        ["v1 TCP4 alone"] = (Ascii("PROXY TCP4\r\n"), ProtocolError.InvalidProxyLine),
        ["v1 two spaces after PROXY"] = (Ascii("PROXY  TCP4 1.2.3.4 5.6.7.8 1 2\r\n"), ProtocolError.InvalidProxyLine),
        ["v1 two spaces between addresses"] = (Ascii("PROXY TCP4 1.2.3.4  5.6.7.8 1 2\r\n"), ProtocolError.InvalidProxyLine),
        ["v1 missing port"] = (Ascii("PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n"), ProtocolError.InvalidProxyLine),
        ["v1 extra field"] = (Ascii("PROXY TCP4 1.2.3.4 5.6.7.8 1 2 3\r\n"), ProtocolError.InvalidProxyLine),
        ["v1 trailing space"] = (Ascii("PROXY TCP4 1.2.3.4 5.6.7.8 1 2 \r\n"), ProtocolError.InvalidProxyLine),
        ["v1 tab separator"] = (Ascii("PROXY TCP4 1.2.3.4\t5.6.7.8 1 2\r\n"), ProtocolError.InvalidProxyLine),

        // v1 addresses (§2.1: canonical forms, no heading zeroes, the announced family).
        ["v1 IPv4 heading zero"] = (Ascii("PROXY TCP4 01.2.3.4 5.6.7.8 1 2\r\n"), ProtocolError.InvalidProxyAddress),
        ["v1 IPv4 octet 256"] = (Ascii("PROXY TCP4 1.2.3.4 5.6.7.256 1 2\r\n"), ProtocolError.InvalidProxyAddress),
        ["v1 IPv4 three parts"] = (Ascii("PROXY TCP4 1.2.3 5.6.7.8 1 2\r\n"), ProtocolError.InvalidProxyAddress),
        ["v1 IPv4 five parts"] = (Ascii("PROXY TCP4 1.2.3.4.5 5.6.7.8 1 2\r\n"), ProtocolError.InvalidProxyAddress),
        ["v1 IPv4 empty part"] = (Ascii("PROXY TCP4 1..3.4 5.6.7.8 1 2\r\n"), ProtocolError.InvalidProxyAddress),
        ["v1 IPv4 trailing dot"] = (Ascii("PROXY TCP4 1.2.3.4. 5.6.7.8 1 2\r\n"), ProtocolError.InvalidProxyAddress),
        ["v1 IPv4 letters"] = (Ascii("PROXY TCP4 a.b.c.d 5.6.7.8 1 2\r\n"), ProtocolError.InvalidProxyAddress),
        ["v1 IPv4 four digits"] = (Ascii("PROXY TCP4 1.2.3.1000 5.6.7.8 1 2\r\n"), ProtocolError.InvalidProxyAddress),
        ["v1 IPv6 in TCP4"] = (Ascii("PROXY TCP4 ::1 5.6.7.8 1 2\r\n"), ProtocolError.InvalidProxyAddress),
        ["v1 IPv4 in TCP6"] = (Ascii("PROXY TCP6 1.2.3.4 ::1 1 2\r\n"), ProtocolError.InvalidProxyAddress),
        ["v1 IPv6 seven groups"] = (Ascii("PROXY TCP6 1:2:3:4:5:6:7 ::1 1 2\r\n"), ProtocolError.InvalidProxyAddress),
        ["v1 IPv6 nine groups"] = (Ascii("PROXY TCP6 1:2:3:4:5:6:7:8:9 ::1 1 2\r\n"), ProtocolError.InvalidProxyAddress),
        ["v1 IPv6 eight groups and a gap"] = (Ascii("PROXY TCP6 1:2:3:4::5:6:7:8 ::1 1 2\r\n"), ProtocolError.InvalidProxyAddress),
        ["v1 IPv6 two gaps"] = (Ascii("PROXY TCP6 1::2::3 ::1 1 2\r\n"), ProtocolError.InvalidProxyAddress),
        ["v1 IPv6 triple colon"] = (Ascii("PROXY TCP6 1:::2 ::1 1 2\r\n"), ProtocolError.InvalidProxyAddress),
        ["v1 IPv6 five digits"] = (Ascii("PROXY TCP6 12345:: ::1 1 2\r\n"), ProtocolError.InvalidProxyAddress),
        ["v1 IPv6 leading colon"] = (Ascii("PROXY TCP6 :1:2:3:4:5:6:7 ::1 1 2\r\n"), ProtocolError.InvalidProxyAddress),
        ["v1 IPv6 trailing colon"] = (Ascii("PROXY TCP6 1:2:3:4:5:6:7: ::1 1 2\r\n"), ProtocolError.InvalidProxyAddress),
        ["v1 IPv6 not hex"] = (Ascii("PROXY TCP6 g:: ::1 1 2\r\n"), ProtocolError.InvalidProxyAddress),
        ["v1 IPv6 zone id"] = (Ascii("PROXY TCP6 fe80::1%eth0 ::1 1 2\r\n"), ProtocolError.InvalidProxyAddress),
        ["v1 IPv6 quad not last"] = (Ascii("PROXY TCP6 ::1.2.3.4:5 ::1 1 2\r\n"), ProtocolError.InvalidProxyAddress),
        ["v1 IPv6 quad too late"] = (Ascii("PROXY TCP6 1:2:3:4:5:6:7:1.2.3.4 ::1 1 2\r\n"), ProtocolError.InvalidProxyAddress),
        ["v1 IPv6 bad quad"] = (Ascii("PROXY TCP6 ::ffff:1.2.3.04 ::1 1 2\r\n"), ProtocolError.InvalidProxyAddress),

        // v1 ports (§2.1: [0..65535], no heading zeroes).
        ["v1 port 65536"] = (Ascii("PROXY TCP4 1.2.3.4 5.6.7.8 65536 2\r\n"), ProtocolError.InvalidProxyPort),
        ["v1 port heading zero"] = (Ascii("PROXY TCP4 1.2.3.4 5.6.7.8 1 02\r\n"), ProtocolError.InvalidProxyPort),
        ["v1 port sign"] = (Ascii("PROXY TCP4 1.2.3.4 5.6.7.8 +1 2\r\n"), ProtocolError.InvalidProxyPort),
        ["v1 port negative"] = (Ascii("PROXY TCP4 1.2.3.4 5.6.7.8 1 -2\r\n"), ProtocolError.InvalidProxyPort),
        ["v1 port six digits"] = (Ascii("PROXY TCP4 1.2.3.4 5.6.7.8 100000 2\r\n"), ProtocolError.InvalidProxyPort),
        ["v1 port hex"] = (Ascii("PROXY TCP4 1.2.3.4 5.6.7.8 1a 2\r\n"), ProtocolError.InvalidProxyPort),

        // v2 fixed part (§2.2): version 2 only, LOCAL/PROXY only, defined families and transports only.
        ["v2 version 1"] = (Hex($"{Signature} 11 11 000C"), ProtocolError.InvalidProxyVersion),
        ["v2 version 3"] = (Hex($"{Signature} 31 11 000C"), ProtocolError.InvalidProxyVersion),
        ["v2 command 2"] = (Hex($"{Signature} 22 11 000C"), ProtocolError.InvalidProxyCommand),
        ["v2 command F"] = (Hex($"{Signature} 2F 00 0000"), ProtocolError.InvalidProxyCommand),
        ["v2 family 4"] = (Hex($"{Signature} 21 41 000C"), ProtocolError.InvalidProxyFamily),
        ["v2 transport 3"] = (Hex($"{Signature} 21 13 000C"), ProtocolError.InvalidProxyFamily),
        ["v2 INET short"] = (Hex($"{Signature} 21 11 000B | 7F000001 7F000001 1F90 1F"), ProtocolError.ProxyAddressTooShort),
        ["v2 INET6 with an INET block"] = (Hex($"{Signature} 21 21 000C | 7F000001 7F000001 1F90 1F90"), ProtocolError.ProxyAddressTooShort),
        ["v2 UNIX short"] = (Hex($"{Signature} 21 31 0024 | {new string('0', 72)}"), ProtocolError.ProxyAddressTooShort),

        // v2 TLVs (§2.2): each must end inside the header.
        ["v2 stray byte after block"] = (Hex($"{Signature} 21 11 000D | 7F000001 7F000001 1F90 1F90 | 04"), ProtocolError.InvalidProxyTlv),
        ["v2 TLV header cut"] = (Hex($"{Signature} 21 11 000E | 7F000001 7F000001 1F90 1F90 | 04 00"), ProtocolError.InvalidProxyTlv),
        ["v2 TLV value overruns"] = (Hex($"{Signature} 21 11 0011 | 7F000001 7F000001 1F90 1F90 | 04 0003 AA AA"), ProtocolError.InvalidProxyTlv),
        ["v2 second TLV overruns"] = (Hex($"{Signature} 21 11 0014 | 7F000001 7F000001 1F90 1F90 | 04 0000 | EA FFFF 01 02"), ProtocolError.InvalidProxyTlv),
    };

    public static TheoryData<string> MalformedNames => [.. Malformed.Keys];

    [Theory]
    [MemberData(nameof(MalformedNames))]
    public void TryParse_MalformedHeaderInEveryShape_ReturnsItsReason(string name)
    {
        (byte[] bytes, ProtocolError expected) = Malformed[name];
        foreach (byte[] input in new[] { bytes, [.. bytes, .. Request] })
        {
            foreach ((string shape, ReadOnlySequence<byte> sequence) in Shapes.Sequences(input))
            {
                OperationStatus status = ProxyProtocolParser.TryParse(sequence, out ProxyHeader header, out ProtocolError error);

                Assert.True(OperationStatus.InvalidData == status, $"{name}, {shape}: {status}");
                Assert.Equal(expected, error);
                Assert.Equal(default, header);
            }
        }
    }

    [Fact]
    public void TryParse_V2FixedPartInvalid_RefusedBeforeTheAnnouncedBytesArrive()
    {
        // The length says 12 more bytes are coming; the version is already wrong.
        OperationStatus status = ProxyProtocolParser.TryParse(new ReadOnlySequence<byte>(Hex($"{Signature} 11 11 000C")), out _, out ProtocolError error);

        Assert.Equal(OperationStatus.InvalidData, status);
        Assert.Equal(ProtocolError.InvalidProxyVersion, error);
    }

    [Fact]
    public void TryParse_V2LongestHeader_NeedsEveryByte()
    {
        byte[] bytes = new byte[ProxyProtocolParser.MaxV2Length];
        Hex($"{Signature} 21 00 FFFF").CopyTo(bytes, 0);

        Assert.Equal(OperationStatus.NeedMoreData, ProxyProtocolParser.TryParse(new ReadOnlySequence<byte>(bytes, 0, bytes.Length - 1), out _, out _));
        Assert.Equal(OperationStatus.Done, ProxyProtocolParser.TryParse(new ReadOnlySequence<byte>(bytes), out ProxyHeader header, out _));
        Assert.Equal(ProxyProtocolParser.MaxV2Length, header.Length);
    }

    [Fact]
    public void TryParse_Empty_NeedsMoreData()
    {
        Assert.Equal(OperationStatus.NeedMoreData, ProxyProtocolParser.TryParse(ReadOnlySequence<byte>.Empty, out _, out ProtocolError error));
        Assert.Equal(ProtocolError.None, error);
    }
}
