using System.Buffers;
using System.Buffers.Binary;

namespace Gateway.Protocol.Proxy;

/// <summary>
/// Reads the PROXY protocol header a balancer (AWS NLB, HAProxy <c>send-proxy</c> / <c>send-proxy-v2</c>) puts in front
/// of a relayed connection: v1 (one text line) or v2 (binary), as haproxy's doc/proxy-protocol.txt specifies them. The
/// wire formats are documented beside their writer, <see cref="ProxyProtocolWriter"/>.
/// </summary>
/// <remarks>
/// Incremental: a header that is not complete yet returns <see cref="OperationStatus.NeedMoreData"/> and consumes
/// nothing; bytes that can no longer become a header are refused as early as they show (a connection that starts with
/// "GET" fails on its first byte). v2 TLVs are checked for framing and skipped (AWS sends its VPC endpoint id in one).
/// </remarks>
public static class ProxyProtocolParser
{
    /// <summary>§2.1: the longest v1 line, CRLF included ("PROXY UNKNOWN" with two full IPv6 addresses and ports).</summary>
    public const int MaxV1Length = 107;

    /// <summary>§2.2: signature (12), version and command, family and transport, length (2).</summary>
    public const int V2FixedLength = 16;

    /// <summary>§2.2: the longest v2 header (the length field is 16 bits).</summary>
    public const int MaxV2Length = V2FixedLength + ushort.MaxValue;

    private const int IPv4AddressBlockLength = 12; // 2 × 4 + 2 × 2
    private const int IPv6AddressBlockLength = 36; // 2 × 16 + 2 × 2
    private const int UnixAddressBlockLength = 216; // 2 × 108
    private const int TlvHeaderLength = 3; // type, 16-bit length

    internal static ReadOnlySpan<byte> V1Prefix => "PROXY "u8;

    internal static ReadOnlySpan<byte> V2Signature => [0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A];

    /// <summary>
    /// Reads the header at the start of <paramref name="buffer"/>. On <see cref="OperationStatus.Done"/> the header
    /// takes <see cref="ProxyHeader.Length"/> bytes; on <see cref="OperationStatus.InvalidData"/> the connection must be
    /// closed (§2: "any sequence which does not exactly match the protocol must be discarded").
    /// </summary>
    public static OperationStatus TryParse(in ReadOnlySequence<byte> buffer, out ProxyHeader header, out ProtocolError error)
    {
        header = default;
        error = ProtocolError.None;
        if (buffer.IsEmpty)
        {
            return OperationStatus.NeedMoreData;
        }

        Span<byte> start = stackalloc byte[MaxV1Length];
        int available = (int)Math.Min(buffer.Length, MaxV1Length);
        ReadOnlySpan<byte> first = buffer.FirstSpan.Length >= available ? buffer.FirstSpan.Slice(0, available) : CopyStart(buffer, start, available);

        if (first[0] == V1Prefix[0])
        {
            return MatchesPrefix(first, V1Prefix, ref error) ? TryParseV1(first, out header, out error) : OperationStatus.InvalidData;
        }

        if (first[0] == V2Signature[0])
        {
            return MatchesPrefix(first, V2Signature, ref error) ? TryParseV2(buffer, first, out header, out error) : OperationStatus.InvalidData;
        }

        error = ProtocolError.ProxyHeaderMissing;
        return OperationStatus.InvalidData;
    }

    private static ReadOnlySpan<byte> CopyStart(in ReadOnlySequence<byte> buffer, Span<byte> scratch, int length)
    {
        buffer.Slice(0, length).CopyTo(scratch);
        return scratch.Slice(0, length);
    }

    /// <summary>True when what has arrived so far agrees with <paramref name="signature"/> (it may still be short).</summary>
    private static bool MatchesPrefix(ReadOnlySpan<byte> first, ReadOnlySpan<byte> signature, ref ProtocolError error)
    {
        int compared = Math.Min(first.Length, signature.Length);
        if (first.Slice(0, compared).SequenceEqual(signature.Slice(0, compared)))
        {
            return true;
        }

        error = ProtocolError.ProxyHeaderMissing;
        return false;
    }

    // v1 ---------------------------------------------------------------------------------------------------------------

    /// <summary><paramref name="window"/> is the first bytes of the connection, at most <see cref="MaxV1Length"/>.</summary>
    private static OperationStatus TryParseV1(ReadOnlySpan<byte> window, out ProxyHeader header, out ProtocolError error)
    {
        header = default;
        error = ProtocolError.None;
        int end = window.IndexOfAny((byte)'\r', (byte)'\n');
        if (end < 0 || end == window.Length - 1)
        {
            if (window.Length < MaxV1Length && (end < 0 || window[end] == (byte)'\r'))
            {
                return OperationStatus.NeedMoreData;
            }

            // §2.1: no CRLF in the first 107 characters.
            error = end < 0 || window[end] == (byte)'\r' ? ProtocolError.ProxyLineTooLong : ProtocolError.InvalidProxyLine;
            return OperationStatus.InvalidData;
        }

        if (window[end] != (byte)'\r' || window[end + 1] != (byte)'\n')
        {
            // §2.1: "The receiver must not tolerate a single CR or LF character to end the line."
            error = ProtocolError.InvalidProxyLine;
            return OperationStatus.InvalidData;
        }

        int length = end + 2;
        ReadOnlySpan<byte> rest = window.Slice(V1Prefix.Length, end - V1Prefix.Length);
        if (rest.StartsWith("UNKNOWN"u8) && (rest.Length == 7 || rest[7] == (byte)' '))
        {
            // §2.1: for UNKNOWN the receiver ignores everything before the CRLF and uses the real endpoints.
            header = new ProxyHeader(length, 1, ProxyCommand.Proxy, ProxyAddressFamily.Unspecified, ProxyTransport.Unspecified);
            return OperationStatus.Done;
        }

        ProxyAddressFamily family;
        if (rest.StartsWith("TCP4 "u8))
        {
            family = ProxyAddressFamily.IPv4;
        }
        else if (rest.StartsWith("TCP6 "u8))
        {
            family = ProxyAddressFamily.IPv6;
        }
        else
        {
            error = ProtocolError.InvalidProxyLine;
            return OperationStatus.InvalidData;
        }

        rest = rest.Slice(5);
        if (!TryTakeField(ref rest, out ReadOnlySpan<byte> source) || !TryTakeField(ref rest, out ReadOnlySpan<byte> destination) ||
            !TryTakeField(ref rest, out ReadOnlySpan<byte> sourcePort) || !TryTakeLastField(rest, out ReadOnlySpan<byte> destinationPort))
        {
            error = ProtocolError.InvalidProxyLine;
            return OperationStatus.InvalidData;
        }

        UInt128 sourceAddress, destinationAddress;
        bool addressesValid = family == ProxyAddressFamily.IPv4
            ? TryParseIPv4(source, out sourceAddress) & TryParseIPv4(destination, out destinationAddress)
            : TryParseIPv6(source, out sourceAddress) & TryParseIPv6(destination, out destinationAddress);
        if (!addressesValid)
        {
            error = ProtocolError.InvalidProxyAddress;
            return OperationStatus.InvalidData;
        }

        if (!TryParsePort(sourcePort, out ushort sourcePortValue) || !TryParsePort(destinationPort, out ushort destinationPortValue))
        {
            error = ProtocolError.InvalidProxyPort;
            return OperationStatus.InvalidData;
        }

        header = new ProxyHeader(length, 1, ProxyCommand.Proxy, family, ProxyTransport.Stream, sourceAddress, destinationAddress, sourcePortValue, destinationPortValue);
        return OperationStatus.Done;
    }

    /// <summary>A non-empty field followed by exactly one space (§2.1: "exactly one space" between fields).</summary>
    private static bool TryTakeField(ref ReadOnlySpan<byte> rest, out ReadOnlySpan<byte> field)
    {
        int space = rest.IndexOf((byte)' ');
        field = space > 0 ? rest.Slice(0, space) : default;
        rest = space > 0 ? rest.Slice(space + 1) : default;
        return space > 0;
    }

    private static bool TryTakeLastField(ReadOnlySpan<byte> rest, out ReadOnlySpan<byte> field)
    {
        field = rest;
        return !rest.IsEmpty && !rest.Contains((byte)' ');
    }

    /// <summary>§2.1: a decimal in [0..65535], no heading zeroes.</summary>
    private static bool TryParsePort(ReadOnlySpan<byte> text, out ushort port)
    {
        port = 0;
        if (!TryParseDecimal(text, maxDigits: 5, out uint value) || value > ushort.MaxValue)
        {
            return false;
        }

        port = (ushort)value;
        return true;
    }

    private static bool TryParseDecimal(ReadOnlySpan<byte> text, int maxDigits, out uint value)
    {
        value = 0;
        if (text.IsEmpty || text.Length > maxDigits || (text[0] == (byte)'0' && text.Length > 1))
        {
            return false;
        }

        foreach (byte b in text)
        {
            uint digit = (uint)(b - '0');
            if (digit > 9)
            {
                return false;
            }

            value = (value * 10) + digit;
        }

        return true;
    }

    /// <summary>§2.1: exactly four decimals in [0..255] separated by single dots, no heading zeroes.</summary>
    private static bool TryParseIPv4(ReadOnlySpan<byte> text, out UInt128 address)
    {
        address = 0;
        uint value = 0;
        for (int part = 0; part < 4; part++)
        {
            int dot = text.IndexOf((byte)'.');
            ReadOnlySpan<byte> digits = part < 3 ? (dot < 0 ? default : text.Slice(0, dot)) : text;
            if ((part < 3 && dot < 0) || !TryParseDecimal(digits, maxDigits: 3, out uint octet) || octet > 255)
            {
                return false;
            }

            value = (value << 8) | octet;
            text = part < 3 ? text.Slice(dot + 1) : default;
        }

        address = value;
        return true;
    }

    /// <summary>
    /// §2.1: groups of hexadecimal digits between colons, at most one "::" standing for one or more zero groups, 128
    /// bits in all. The last 32 bits may be written as a dotted quad (RFC 4291 §2.2), as <c>inet_ntop</c> writes
    /// IPv4-mapped addresses.
    /// </summary>
    private static bool TryParseIPv6(ReadOnlySpan<byte> text, out UInt128 address)
    {
        address = 0;
        Span<ushort> groups = stackalloc ushort[8];
        int count = 0;
        int gap = -1;
        int i = 0;
        if (text.StartsWith("::"u8))
        {
            gap = 0;
            i = 2;
        }
        else if (text.IsEmpty || text[0] == (byte)':')
        {
            return false;
        }

        while (i < text.Length)
        {
            int colon = text.Slice(i).IndexOf((byte)':');
            int fieldEnd = colon < 0 ? text.Length : i + colon;
            ReadOnlySpan<byte> field = text.Slice(i, fieldEnd - i);
            if (fieldEnd == text.Length && field.Contains((byte)'.'))
            {
                if (count > 6 || !TryParseIPv4(field, out UInt128 quad))
                {
                    return false;
                }

                groups[count++] = (ushort)(quad >> 16);
                groups[count++] = (ushort)quad;
                break;
            }

            if (count == 8 || !TryParseHexGroup(field, out groups[count]))
            {
                return false;
            }

            count++;
            i = fieldEnd;
            if (i == text.Length)
            {
                break;
            }

            i++; // the colon
            if (i < text.Length && text[i] == (byte)':')
            {
                if (gap >= 0)
                {
                    return false; // a second "::"
                }

                gap = count;
                i++;
            }
            else if (i == text.Length)
            {
                return false; // a trailing single colon
            }
        }

        if (gap < 0 ? count != 8 : count > 7)
        {
            return false;
        }

        UInt128 value = 0;
        int zeros = 8 - count;
        for (int g = 0, source = 0; g < 8; g++)
        {
            ushort group = gap >= 0 && g >= gap && g < gap + zeros ? (ushort)0 : groups[source++];
            value = (value << 16) | group;
        }

        address = value;
        return true;
    }

    private static bool TryParseHexGroup(ReadOnlySpan<byte> text, out ushort group)
    {
        group = 0;
        if (text.IsEmpty || text.Length > 4)
        {
            return false;
        }

        int value = 0;
        foreach (byte b in text)
        {
            int digit = b switch
            {
                >= (byte)'0' and <= (byte)'9' => b - '0',
                >= (byte)'a' and <= (byte)'f' => b - 'a' + 10,
                >= (byte)'A' and <= (byte)'F' => b - 'A' + 10,
                _ => -1,
            };
            if (digit < 0)
            {
                return false;
            }

            value = (value << 4) | digit;
        }

        group = (ushort)value;
        return true;
    }

    // v2 ---------------------------------------------------------------------------------------------------------------

    /// <summary><paramref name="first"/> is the start of <paramref name="buffer"/>; its 12-byte signature prefix matched.</summary>
    private static OperationStatus TryParseV2(in ReadOnlySequence<byte> buffer, ReadOnlySpan<byte> first, out ProxyHeader header, out ProtocolError error)
    {
        header = default;
        error = ProtocolError.None;
        if (first.Length < V2FixedLength)
        {
            return OperationStatus.NeedMoreData;
        }

        byte versionCommand = first[12];
        if (versionCommand >> 4 != 2)
        {
            error = ProtocolError.InvalidProxyVersion;
            return OperationStatus.InvalidData;
        }

        var command = (ProxyCommand)(versionCommand & 0x0F);
        if (command is not (ProxyCommand.Local or ProxyCommand.Proxy))
        {
            error = ProtocolError.InvalidProxyCommand;
            return OperationStatus.InvalidData;
        }

        var family = (ProxyAddressFamily)(first[13] >> 4);
        var transport = (ProxyTransport)(first[13] & 0x0F);
        int addressLength = BinaryPrimitives.ReadUInt16BigEndian(first.Slice(14));
        int length = V2FixedLength + addressLength;

        if (command == ProxyCommand.Local)
        {
            // §2.2: "the receiver must accept this connection as valid and must use the real connection endpoints and
            // discard the protocol block including the family which is ignored".
            if (buffer.Length < length)
            {
                return OperationStatus.NeedMoreData;
            }

            header = new ProxyHeader(length, 2, ProxyCommand.Local, ProxyAddressFamily.Unspecified, ProxyTransport.Unspecified);
            return OperationStatus.Done;
        }

        if (family > ProxyAddressFamily.Unix || transport > ProxyTransport.Datagram)
        {
            error = ProtocolError.InvalidProxyFamily;
            return OperationStatus.InvalidData;
        }

        // AF_UNSPEC or an UNSPEC transport: §2.2 "the receiver should ignore address information".
        int blockLength = family == ProxyAddressFamily.Unspecified || transport == ProxyTransport.Unspecified ? 0 : family switch
        {
            ProxyAddressFamily.IPv4 => IPv4AddressBlockLength,
            ProxyAddressFamily.IPv6 => IPv6AddressBlockLength,
            _ => UnixAddressBlockLength,
        };
        if (addressLength < blockLength)
        {
            error = ProtocolError.ProxyAddressTooShort;
            return OperationStatus.InvalidData;
        }

        if (buffer.Length < length)
        {
            return OperationStatus.NeedMoreData;
        }

        if (blockLength == 0)
        {
            header = new ProxyHeader(length, 2, ProxyCommand.Proxy, family, transport);
            return OperationStatus.Done;
        }

        if (!TlvsFit(buffer.Slice(V2FixedLength + blockLength, addressLength - blockLength)))
        {
            error = ProtocolError.InvalidProxyTlv;
            return OperationStatus.InvalidData;
        }

        if (family == ProxyAddressFamily.Unix)
        {
            header = new ProxyHeader(length, 2, ProxyCommand.Proxy, family, transport);
            return OperationStatus.Done;
        }

        Span<byte> block = stackalloc byte[IPv6AddressBlockLength];
        buffer.Slice(V2FixedLength, blockLength).CopyTo(block);
        int addressSize = (blockLength - 4) / 2;
        UInt128 source = ReadAddress(block.Slice(0, addressSize));
        UInt128 destination = ReadAddress(block.Slice(addressSize, addressSize));
        ushort sourcePort = BinaryPrimitives.ReadUInt16BigEndian(block.Slice(2 * addressSize));
        ushort destinationPort = BinaryPrimitives.ReadUInt16BigEndian(block.Slice((2 * addressSize) + 2));
        header = new ProxyHeader(length, 2, ProxyCommand.Proxy, family, transport, source, destination, sourcePort, destinationPort);
        return OperationStatus.Done;
    }

    private static UInt128 ReadAddress(ReadOnlySpan<byte> bytes) =>
        bytes.Length == 4 ? BinaryPrimitives.ReadUInt32BigEndian(bytes) : BinaryPrimitives.ReadUInt128BigEndian(bytes);

    /// <summary>§2.2: type (1), length (2, big-endian), value; each TLV must end inside the header.</summary>
    private static bool TlvsFit(ReadOnlySequence<byte> tlvs)
    {
        var reader = new SequenceReader<byte>(tlvs);
        while (!reader.End)
        {
            if (reader.Remaining < TlvHeaderLength)
            {
                return false;
            }

            reader.Advance(1);
            reader.TryReadBigEndian(out short valueLength);
            if (reader.Remaining < (ushort)valueLength)
            {
                return false;
            }

            reader.Advance((ushort)valueLength);
        }

        return true;
    }
}
