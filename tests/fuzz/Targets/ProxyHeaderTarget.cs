using System.Buffers;
using System.Buffers.Binary;
using Gateway.Protocol;
using Gateway.Protocol.Proxy;
using static Gateway.Fuzz.FuzzInvariantException;

namespace Gateway.Fuzz.Targets;

/// <summary>
/// The start of a connection behind a balancer: a PROXY v1/v2 header, read whole and cut in two; one that parses must
/// write back (<see cref="ProxyProtocolWriter"/>) to a header that names the same endpoints.
/// </summary>
public static class ProxyHeaderTarget
{
    public static void Run(ReadOnlySpan<byte> input)
    {
        byte[] bytes = input.ToArray();
        OperationStatus status = ProxyProtocolParser.TryParse(new ReadOnlySequence<byte>(bytes), out ProxyHeader header, out ProtocolError error);
        OperationStatus splitStatus = ProxyProtocolParser.TryParse(TwoSegments.Cut(bytes, bytes.Length / 2), out ProxyHeader splitHeader, out ProtocolError splitError);
        Check(status == splitStatus && error == splitError && header == splitHeader, "sequence shapes disagree");
        if (status != OperationStatus.Done)
        {
            Check(status == OperationStatus.NeedMoreData ? error == ProtocolError.None : error != ProtocolError.None, "status and error disagree");
            return;
        }

        Check(header.Length <= input.Length, "header longer than the input");
        Check(
            header.Version == 1
                ? header.Length is >= 15 and <= ProxyProtocolParser.MaxV1Length && input[header.Length - 2] == (byte)'\r' && input[header.Length - 1] == (byte)'\n'
                : header.Length == ProxyProtocolParser.V2FixedLength + BinaryPrimitives.ReadUInt16BigEndian(input.Slice(14)),
            "header length");
        Check(!header.HasAddresses || header.AddressLength is 4 or 16, "address length");
        Check(header.Family != ProxyAddressFamily.IPv4 || (header.SourceAddress <= uint.MaxValue && header.DestinationAddress <= uint.MaxValue), "IPv4 address width");

        var written = new ArrayBufferWriter<byte>();
        ProxyProtocolWriter.Write(written, header);
        Check(ProxyProtocolParser.TryParse(new ReadOnlySequence<byte>(written.WrittenMemory), out ProxyHeader again, out _) == OperationStatus.Done, "a parsed header, written back, does not parse");
        Check(
            again.Length == written.WrittenCount && again.HasAddresses == header.HasAddresses && again.Command == header.Command &&
            again.SourceAddress == header.SourceAddress && again.DestinationAddress == header.DestinationAddress &&
            again.SourcePort == header.SourcePort && again.DestinationPort == header.DestinationPort,
            "header round trip");
    }
}
