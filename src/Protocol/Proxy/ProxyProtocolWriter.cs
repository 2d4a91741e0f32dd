using System.Buffers;
using System.Buffers.Binary;
using Gateway.Protocol.Buffers;

namespace Gateway.Protocol.Proxy;

/// <summary>
/// Writes PROXY protocol headers (haproxy doc/proxy-protocol.txt), as a balancer sends them; the reader is
/// <see cref="ProxyProtocolParser"/>. The gateway writes a LOCAL one on its connections to the other gateways of its
/// region when they expect headers; tests and the fuzz harness use the rest.
/// </summary>
/// <remarks>
/// v1 (§2.1), one US-ASCII line:
/// <code>
/// PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n      (TCP6: IPv6 text; UNKNOWN: "PROXY UNKNOWN\r\n")
/// </code>
/// v2 (§2.2), binary, integers big-endian:
/// <code>
/// 0D 0A 0D 0A 00 0D 0A 51 55 49 54 0A   signature
/// 2c                                    version 2, command c (0 LOCAL, 1 PROXY)
/// ft                                    family f (0 UNSPEC, 1 INET, 2 INET6, 3 UNIX), transport t (0 UNSPEC, 1 STREAM, 2 DGRAM)
/// LL LL                                 length of what follows: address block, then TLVs
/// src addr, dst addr, src port, dst port  (INET 4+4+2+2, INET6 16+16+2+2, UNIX 108+108)
/// TLVs: type (1), length (2), value
/// </code>
/// </remarks>
public static class ProxyProtocolWriter
{
    /// <summary>
    /// Appends <paramref name="header"/> in its version's format (its <see cref="ProxyHeader.Length"/> is not read).
    /// v2 addresses are written for IPv4/IPv6 with a transport; an AF_UNIX block is written as zeros.
    /// </summary>
    public static void Write(IBufferWriter<byte> writer, in ProxyHeader header)
    {
        if (header.Version == 1)
        {
            WriteV1(writer, header);
        }
        else
        {
            WriteV2(writer, header, tlvs: default);
        }
    }

    /// <summary>Appends a v1 line: TCP4/TCP6 with the addresses, or UNKNOWN when the header has none.</summary>
    public static void WriteV1(IBufferWriter<byte> writer, in ProxyHeader header)
    {
        writer.WriteBytes(ProxyProtocolParser.V1Prefix);
        if (!header.HasAddresses)
        {
            writer.WriteBytes("UNKNOWN\r\n"u8);
            return;
        }

        bool v4 = header.Family == ProxyAddressFamily.IPv4;
        writer.WriteBytes(v4 ? "TCP4 "u8 : "TCP6 "u8);
        WriteAddressText(writer, header.SourceAddress, v4);
        writer.WriteByte((byte)' ');
        WriteAddressText(writer, header.DestinationAddress, v4);
        writer.WriteByte((byte)' ');
        writer.WriteInt64(header.SourcePort);
        writer.WriteByte((byte)' ');
        writer.WriteInt64(header.DestinationPort);
        writer.WriteBytes("\r\n"u8);
    }

    /// <summary>Appends a v2 header followed by <paramref name="tlvs"/> (already TLV-encoded, counted in the length).</summary>
    public static void WriteV2(IBufferWriter<byte> writer, in ProxyHeader header, ReadOnlySpan<byte> tlvs)
    {
        int blockLength = header.Command == ProxyCommand.Local || header.Transport == ProxyTransport.Unspecified ? 0 : header.Family switch
        {
            ProxyAddressFamily.IPv4 => 12,
            ProxyAddressFamily.IPv6 => 36,
            ProxyAddressFamily.Unix => 216,
            _ => 0,
        };
        int length = ProxyProtocolParser.V2FixedLength + blockLength + tlvs.Length;
        Span<byte> span = writer.GetSpan(length).Slice(0, length);
        ProxyProtocolParser.V2Signature.CopyTo(span);
        span[12] = (byte)(0x20 | (byte)header.Command);
        span[13] = header.Command == ProxyCommand.Local ? (byte)0 : (byte)(((byte)header.Family << 4) | (byte)header.Transport);
        BinaryPrimitives.WriteUInt16BigEndian(span.Slice(14), checked((ushort)(blockLength + tlvs.Length)));
        Span<byte> block = span.Slice(ProxyProtocolParser.V2FixedLength, blockLength);
        block.Clear();
        if (blockLength is 12 or 36)
        {
            int size = header.AddressLength;
            header.CopySourceAddress(block);
            header.CopyDestinationAddress(block.Slice(size));
            BinaryPrimitives.WriteUInt16BigEndian(block.Slice(2 * size), header.SourcePort);
            BinaryPrimitives.WriteUInt16BigEndian(block.Slice((2 * size) + 2), header.DestinationPort);
        }

        tlvs.CopyTo(span.Slice(ProxyProtocolParser.V2FixedLength + blockLength));
        writer.Advance(length);
    }

    /// <summary>Dotted quad, or eight 4-digit hexadecimal groups (§2.1's form; no "::" needed).</summary>
    private static void WriteAddressText(IBufferWriter<byte> writer, UInt128 address, bool v4)
    {
        if (v4)
        {
            for (int shift = 24; shift >= 0; shift -= 8)
            {
                writer.WriteInt64((long)(address >> shift) & 0xFF);
                if (shift > 0)
                {
                    writer.WriteByte((byte)'.');
                }
            }

            return;
        }

        Span<byte> text = writer.GetSpan(39).Slice(0, 39);
        for (int group = 0; group < 8; group++)
        {
            ushort value = (ushort)(address >> (16 * (7 - group)));
            for (int digit = 0; digit < 4; digit++)
            {
                text[(group * 5) + digit] = "0123456789abcdef"u8[(value >> (12 - (4 * digit))) & 0xF];
            }

            if (group < 7)
            {
                text[(group * 5) + 4] = (byte)':';
            }
        }

        writer.Advance(39);
    }
}
