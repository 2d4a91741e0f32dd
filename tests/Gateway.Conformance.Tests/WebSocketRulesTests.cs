using System.Text;
using Gateway.Protocol.WebSockets;

namespace Gateway.Conformance.Tests;

/// <summary>RFC 6455 rules on the public port, from a raw TCP peer: each violation gets its close code.</summary>
[Collection(GatewayCollection.Name)]
public sealed class WebSocketRulesTests(GatewayServer server)
{
    private async Task<RawClient> ConnectedAsync()
    {
        (RawClient client, string open) = await RawClient.OpenWebSocketAsync(server.Port);
        Assert.StartsWith("0{\"sid\":\"", open);
        Assert.Contains("\"upgrades\":[]", open);
        Assert.Contains($"\"pingInterval\":{GatewayServer.PingInterval},\"pingTimeout\":{GatewayServer.PingTimeout},\"maxPayload\":{GatewayServer.MaxPayload}", open);
        await client.SendTextAsync("40");
        RawClient.Frame connect = await client.ReadNonPingFrameAsync();
        Assert.StartsWith("40{\"sid\":\"", connect.Text);
        return client;
    }

    private async Task AssertClosedWithAsync(RawClient client, ushort code)
    {
        Assert.Equal(code, await client.ReadCloseAsync());
        Assert.True(await client.WaitForEndAsync());
        client.Dispose();
        await server.AssertNoConnectionsAsync();
    }

    [Fact]
    public async Task Handshake_ValidKey_SendsAcceptAndOpenPacket()
    {
        using RawClient client = await ConnectedAsync();
    }

    [Fact]
    public async Task Frame_Unmasked_Closes1002()
    {
        RawClient client = await ConnectedAsync();
        await client.SendAsync(RawClient.ClientFrame(WebSocketOpcode.Text, "42[\"x\"]"u8, mask: false));
        await AssertClosedWithAsync(client, WebSocketCloseCode.ProtocolError);
    }

    [Theory]
    [InlineData(0x40)]
    [InlineData(0x20)]
    [InlineData(0x10)]
    public async Task Frame_ReservedBitSet_Closes1002(byte rsv)
    {
        RawClient client = await ConnectedAsync();
        await client.SendAsync(RawClient.ClientFrame(WebSocketOpcode.Text, "3"u8, rsv: rsv));
        await AssertClosedWithAsync(client, WebSocketCloseCode.ProtocolError);
    }

    [Theory]
    [InlineData(0x3)]
    [InlineData(0xB)]
    public async Task Frame_UnknownOpcode_Closes1002(byte opcode)
    {
        RawClient client = await ConnectedAsync();
        await client.SendAsync(RawClient.ClientFrame((WebSocketOpcode)opcode, "3"u8));
        await AssertClosedWithAsync(client, WebSocketCloseCode.ProtocolError);
    }

    [Fact]
    public async Task ControlFrame_Over125Bytes_Closes1002()
    {
        RawClient client = await ConnectedAsync();
        await client.SendAsync(RawClient.ClientFrame(WebSocketOpcode.Ping, new byte[126]));
        await AssertClosedWithAsync(client, WebSocketCloseCode.ProtocolError);
    }

    [Fact]
    public async Task ControlFrame_Fragmented_Closes1002()
    {
        RawClient client = await ConnectedAsync();
        await client.SendAsync(RawClient.ClientFrame(WebSocketOpcode.Ping, "a"u8, fin: false));
        await AssertClosedWithAsync(client, WebSocketCloseCode.ProtocolError);
    }

    [Fact]
    public async Task Continuation_WithoutStart_Closes1002()
    {
        RawClient client = await ConnectedAsync();
        await client.SendAsync(RawClient.ClientFrame(WebSocketOpcode.Continuation, "3"u8));
        await AssertClosedWithAsync(client, WebSocketCloseCode.ProtocolError);
    }

    [Fact]
    public async Task DataFrame_DuringFragmentedMessage_Closes1002()
    {
        RawClient client = await ConnectedAsync();
        await client.SendTextAsync("42[\"ack\"", fin: false);
        await client.SendTextAsync("3");
        await AssertClosedWithAsync(client, WebSocketCloseCode.ProtocolError);
    }

    [Fact]
    public async Task Text_InvalidUtf8_Closes1007()
    {
        RawClient client = await ConnectedAsync();
        await client.SendAsync(RawClient.ClientFrame(WebSocketOpcode.Text, [(byte)'4', (byte)'2', 0xC3, 0x28]));
        await AssertClosedWithAsync(client, WebSocketCloseCode.InvalidPayloadData);
    }

    [Fact]
    public async Task Text_Utf8SplitAcrossFragments_IsAccepted_AndTruncatedSequenceCloses1007()
    {
        RawClient client = await ConnectedAsync();
        byte[] euro = Encoding.UTF8.GetBytes("42[\"echo\",\"€\"]");
        int split = Array.IndexOf(euro, (byte)0xE2) + 1;
        await client.SendAsync(RawClient.ClientFrame(WebSocketOpcode.Text, euro.AsSpan(0, split), fin: false));
        await client.SendAsync(RawClient.ClientFrame(WebSocketOpcode.Continuation, euro.AsSpan(split)));
        Assert.Equal("42[\"echo\",\"€\"]", (await client.ReadNonPingFrameAsync()).Text);

        // A message may not end inside a sequence.
        await client.SendAsync(RawClient.ClientFrame(WebSocketOpcode.Text, "42[\"echo\",\""u8, fin: false));
        await client.SendAsync(RawClient.ClientFrame(WebSocketOpcode.Continuation, [0xE2, 0x82]));
        await AssertClosedWithAsync(client, WebSocketCloseCode.InvalidPayloadData);
    }

    [Fact]
    public async Task Event_NamesWithEscapedLoneSurrogates_Close1007()
    {
        // Found by fuzzing (FuzzRegressionTests): the Socket.IO parser threw on these names, and the gateway ended the
        // connection as its own failure. Text with no UTF-8 form is malformed: 1007, never an exception.
        RawClient client = await ConnectedAsync();
        await client.SendTextAsync("42[\"\\ud80800\",{\"\\udc00\":1}]");
        await AssertClosedWithAsync(client, WebSocketCloseCode.InvalidPayloadData);
    }

    [Fact]
    public async Task Message_OverMaxPayload_Closes1009()
    {
        RawClient client = await ConnectedAsync();
        byte[] big = new byte[GatewayServer.MaxPayload + 1];
        Array.Fill(big, (byte)'a');
        await client.SendAsync(RawClient.ClientFrame(WebSocketOpcode.Binary, big));
        await AssertClosedWithAsync(client, WebSocketCloseCode.MessageTooBig);
    }

    [Fact]
    public async Task Message_FragmentsOverMaxPayload_Closes1009()
    {
        RawClient client = await ConnectedAsync();
        byte[] half = new byte[(GatewayServer.MaxPayload / 2) + 1];
        Array.Fill(half, (byte)'a');
        await client.SendAsync(RawClient.ClientFrame(WebSocketOpcode.Text, half, fin: false));
        await client.SendAsync(RawClient.ClientFrame(WebSocketOpcode.Continuation, half));
        await AssertClosedWithAsync(client, WebSocketCloseCode.MessageTooBig);
    }

    [Fact]
    public async Task FragmentedMessage_WithInterleavedPing_IsReassembled()
    {
        using RawClient client = await ConnectedAsync();
        await client.SendTextAsync("42", fin: false);
        await client.SendAsync(RawClient.ClientFrame(WebSocketOpcode.Ping, "hi"u8));
        await client.SendTextAsync("1[\"ack\",", fin: false, WebSocketOpcode.Continuation);
        await client.SendTextAsync("7]", fin: true, WebSocketOpcode.Continuation);
        RawClient.Frame pong = await client.ReadNonPingFrameAsync();
        Assert.Equal(WebSocketOpcode.Pong, pong.Opcode);
        Assert.Equal("hi", pong.Text);
        Assert.Equal("431[7]", (await client.ReadNonPingFrameAsync()).Text);
    }

    [Fact]
    public async Task Close_WithCode_IsEchoed()
    {
        RawClient client = await ConnectedAsync();
        await client.SendAsync(RawClient.ClientFrame(WebSocketOpcode.Close, [0x0F, 0xA0])); // 4000
        await AssertClosedWithAsync(client, 4000);
    }

    [Theory]
    [InlineData(new byte[] { 0x03 })] // one byte: no room for a code
    [InlineData(new byte[] { 0x03, 0xED })] // 1005 may not be sent
    [InlineData(new byte[] { 0x03, 0xE8, 0xC3, 0x28 })] // 1000 + invalid UTF-8 reason
    public async Task Close_InvalidPayload_ClosesWithError(byte[] payload)
    {
        RawClient client = await ConnectedAsync();
        await client.SendAsync(RawClient.ClientFrame(WebSocketOpcode.Close, payload));
        ushort code = await client.ReadCloseAsync();
        Assert.True(code is WebSocketCloseCode.ProtocolError or WebSocketCloseCode.InvalidPayloadData);
        client.Dispose();
        await server.AssertNoConnectionsAsync();
    }

    [Theory]
    [InlineData("abc")] // not an Engine.IO packet type
    [InlineData("4abc")] // not a Socket.IO packet
    [InlineData("42{}")] // event payload must be an array
    [InlineData("42[\"connect\"]")] // reserved event name
    [InlineData("2")] // clients do not ping in Engine.IO v4
    [InlineData("42/nope,[\"x\"]")] // event on a namespace not joined
    public async Task EngineIO_BadPacket_ClosesConnection(string packet)
    {
        RawClient client = await ConnectedAsync();
        await client.SendTextAsync(packet);
        Assert.Equal(WebSocketCloseCode.ProtocolError, await client.ReadCloseAsync());
        client.Dispose();
        await server.AssertNoConnectionsAsync();
    }

    [Fact]
    public async Task Binary_WithoutPendingPacket_ClosesConnection()
    {
        RawClient client = await ConnectedAsync();
        await client.SendAsync(RawClient.ClientFrame(WebSocketOpcode.Binary, [1, 2, 3]));
        Assert.Equal(WebSocketCloseCode.ProtocolError, await client.ReadCloseAsync());
        client.Dispose();
        await server.AssertNoConnectionsAsync();
    }

    [Fact]
    public async Task BinaryEvent_Echo_ReturnsPlaceholdersAndAttachments()
    {
        using RawClient client = await ConnectedAsync();
        await client.SendTextAsync("452-[\"echo\",{\"_placeholder\":true,\"num\":0},{\"_placeholder\":true,\"num\":1}]");
        await client.SendAsync(RawClient.ClientFrame(WebSocketOpcode.Binary, [1, 2, 3]));
        await client.SendAsync(RawClient.ClientFrame(WebSocketOpcode.Binary, [4, 5, 6]));
        Assert.Equal("452-[\"echo\",{\"_placeholder\":true,\"num\":0},{\"_placeholder\":true,\"num\":1}]", (await client.ReadNonPingFrameAsync()).Text);
        Assert.Equal([1, 2, 3], (await client.ReadNonPingFrameAsync()).Payload);
        Assert.Equal([4, 5, 6], (await client.ReadNonPingFrameAsync()).Payload);

        await client.SendTextAsync("452-789[\"ack\",{\"_placeholder\":true,\"num\":0},{\"_placeholder\":true,\"num\":1}]");
        await client.SendAsync(RawClient.ClientFrame(WebSocketOpcode.Binary, [7]));
        await client.SendAsync(RawClient.ClientFrame(WebSocketOpcode.Binary, [8]));
        Assert.Equal("462-789[{\"_placeholder\":true,\"num\":0},{\"_placeholder\":true,\"num\":1}]", (await client.ReadNonPingFrameAsync()).Text);
        Assert.Equal([7], (await client.ReadNonPingFrameAsync()).Payload);
        Assert.Equal([8], (await client.ReadNonPingFrameAsync()).Payload);
    }

    [Fact]
    public async Task Namespaces_UnknownGetsConnectError_CustomIsMultiplexed()
    {
        using RawClient client = await ConnectedAsync();
        await client.SendTextAsync("40/random,");
        Assert.Equal("44/random,{\"message\":\"Invalid namespace\"}", (await client.ReadNonPingFrameAsync()).Text);
        await client.SendTextAsync("40/custom,{\"token\":\"abc\"}");
        Assert.StartsWith("40/custom,{\"sid\":\"", (await client.ReadNonPingFrameAsync()).Text);
        await client.SendTextAsync("42/custom,5[\"auth\"]");
        Assert.Equal("43/custom,5[{\"token\":\"abc\"}]", (await client.ReadNonPingFrameAsync()).Text);
        await client.SendTextAsync("42/custom,[\"echo\",1,\"2\",{\"3\":[true]}]");
        Assert.Equal("42/custom,[\"echo\",1,\"2\",{\"3\":[true]}]", (await client.ReadNonPingFrameAsync()).Text);
        await client.SendTextAsync("41/custom,");
        await client.SendTextAsync("426[\"auth\"]");
        Assert.Equal("436[{}]", (await client.ReadNonPingFrameAsync()).Text);
    }

    [Fact]
    public async Task Disconnect_LastNamespace_KeepsEngineIOSession()
    {
        using RawClient client = await ConnectedAsync();
        await client.SendTextAsync("41");
        // The Engine.IO session stays (as socket.io): the next thing we see is a heartbeat ping.
        RawClient.Frame next = await client.ReadFrameAsync();
        Assert.Equal("2", next.Text);
        await client.SendTextAsync("3");
        await client.SendTextAsync("40");
        Assert.StartsWith("40{\"sid\":\"", (await client.ReadNonPingFrameAsync()).Text);
    }
}
