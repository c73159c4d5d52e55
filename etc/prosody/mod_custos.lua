-- mod_custos.lua - streams a copy of every message to the custos archive.
-- Prosody 0.12. docs/INTEGRATIONS.md "XMPP (Prosody)" has the set-up.
--
-- Load it on every VirtualHost whose users are to be archived, and on
-- every MUC component whose rooms are to be archived:
--
--   custos_url = "http://127.0.0.1:8080/v1/hooks/xmpp/prosody"
--   custos_secret = "<the secret printed by: custos source add prosody --type xmpp>"
--   modules_enabled = { ..., "custos" }
--   Component "conference.example.org" "muc"
--       modules_enabled = { "custos" }
--
-- What is hooked, each message once:
--   "out"  pre-message/* on a user host: sent by a local client (one-to-one,
--          private messages in rooms, headlines). Groupchat is left to the
--          room, which archives it once for all occupants.
--   "in"   message/* on a user host arriving over s2s: sent by a remote
--          server's user (and copies of remote rooms' messages, once per
--          local recipient).
--   "muc"  muc-broadcast-message on a MUC component: every message a
--          local room distributes, with the sender's real JID.
-- Messages that carry nothing to archive (chat states, receipts, markers,
-- errors) are skipped unless custos_archive_all = true.
--
-- Delivery: every hooked stanza is first written to the spool directory
-- (one file per message, named by a growing sequence number, written to a
-- temporary name and renamed), then POSTed in order, up to custos_batch
-- messages per request, as
--   {"v": 1, "host": <this host>, "items": [{"id", "direction", "time",
--    "stanza", "real_from"?}, ...]}
-- with the header X-Custos-Signature: hmac-sha256=<hex HMAC-SHA256 of the
-- body under custos_secret>. A spool file is deleted only after custos
-- answered 200, which it does only once the records are durable. Any other
-- outcome (custos down, timeout, error status) keeps the files and retries
-- the same batch with exponential backoff (custos_retry_min ..
-- custos_retry_max seconds), so a stopped archive loses nothing and the
-- order is kept; a resent item is archived once (its id is the record's
-- duplicate key). The spool survives a restart of Prosody.

local http = require "net.http";
local hashes = require "util.hashes";
local json = require "util.json";
local uuid = require "util.uuid";
local time = require "util.time";
local jid_bare = require "util.jid".bare;
local lfs = require "lfs";

local url = module:get_option_string("custos_url");
local secret = module:get_option_string("custos_secret");
local batch_max = module:get_option_number("custos_batch", 50);
-- Bytes per request: well under custos' body cap (server.max_body_bytes,
-- 16 MiB by default) even for stanzas at Prosody's s2s size limit.
local batch_bytes = module:get_option_number("custos_batch_bytes", 4 * 1024 * 1024);
local retry_min = module:get_option_number("custos_retry_min", 1);
local retry_max = module:get_option_number("custos_retry_max", 60);
local timeout = module:get_option_number("custos_timeout", 30);
local archive_all = module:get_option_boolean("custos_archive_all", false);
local spool_root = module:get_option_string("custos_spool_dir", prosody.paths.data .. "/custos_spool");
local spool = spool_root .. "/" .. (module.host:gsub("[^%w%.%-]", "_"));

if not url or not secret then
	module:log("error", "custos_url and custos_secret must be set; nothing will be archived");
	return;
end

-- ---- the spool -------------------------------------------------------

local queue = {};      -- spool file names, oldest first
local next_seq = 1;    -- sequence number of the next spool file

local function mkdir_p(path)
	local sofar = "";
	for part in path:gmatch("[^/]+") do
		sofar = sofar .. "/" .. part;
		if not lfs.attributes(sofar, "mode") then
			local ok, err = lfs.mkdir(sofar);
			if not ok and not lfs.attributes(sofar, "mode") then
				return nil, err;
			end
		end
	end
	return true;
end

local function load_spool()
	local ok, err = mkdir_p(spool);
	if not ok then
		module:log("error", "cannot create spool directory %s: %s", spool, err);
		return;
	end
	local names = {};
	for name in lfs.dir(spool) do
		local seq = name:match("^(%d+)%.json$");
		if seq then
			names[#names + 1] = name;
			if tonumber(seq) >= next_seq then next_seq = tonumber(seq) + 1; end
		elseif name:match("%.tmp$") then
			os.remove(spool .. "/" .. name); -- torn write of a message never acknowledged to anyone
		end
	end
	table.sort(names);
	queue = names;
	if #queue > 0 then
		module:log("info", "%d spooled messages waiting for the archive", #queue);
	end
end

local function spool_write(text)
	local name = string.format("%016d.json", next_seq);
	next_seq = next_seq + 1;
	local tmp = spool .. "/" .. name .. ".tmp";
	local f, err = io.open(tmp, "wb");
	if not f then
		module:log("error", "cannot spool a message for the archive: %s", err);
		return nil;
	end
	local ok, werr = f:write(text);
	if ok then ok, werr = f:flush(); end
	f:close();
	if not ok then
		os.remove(tmp);
		module:log("error", "cannot spool a message for the archive: %s", werr);
		return nil;
	end
	local rok, rerr = os.rename(tmp, spool .. "/" .. name);
	if not rok then
		module:log("error", "cannot spool a message for the archive: %s", rerr);
		return nil;
	end
	queue[#queue + 1] = name;
	return true;
end

local function spool_read(name)
	local f = io.open(spool .. "/" .. name, "rb");
	if not f then return nil; end
	local text = f:read("a");
	f:close();
	return text;
end

-- ---- sending ---------------------------------------------------------

local sending = false;   -- a request is in flight
local attempt = 0;       -- id of the current attempt (late answers are ignored)
local backoff = 0;       -- current retry delay, 0 after a success
local waiting = false;   -- a retry timer is set
local send_next;

local function retry_later(why)
	sending = false;
	backoff = backoff == 0 and retry_min or math.min(backoff * 2, retry_max);
	module:log("warn", "archive not reached (%s): %d messages spooled, retrying in %ds", why, #queue, backoff);
	waiting = true;
	module:add_timer(backoff, function()
		waiting = false;
		send_next();
	end);
end

function send_next()
	if sending or waiting or #queue == 0 then return; end
	local names, texts, bytes = {}, {}, 0;
	for i = 1, math.min(batch_max, #queue) do
		local text = spool_read(queue[i]);
		if text and #texts > 0 and bytes + #text > batch_bytes then
			break; -- the next request takes it
		elseif text then
			names[#names + 1] = queue[i];
			texts[#texts + 1] = text;
			bytes = bytes + #text;
		else
			module:log("error", "spool file %s vanished", queue[i]);
			names[#names + 1] = queue[i]; -- dropped from the queue below
		end
	end
	if #texts == 0 then
		for _ = 1, #names do table.remove(queue, 1); end
		return send_next();
	end
	local body = '{"v":1,"host":' .. json.encode(module.host) .. ',"items":[' .. table.concat(texts, ",") .. "]}";
	local mac = hashes.hmac_sha256(secret, body, true);
	sending = true;
	attempt = attempt + 1;
	local mine = attempt;
	local req;
	module:add_timer(timeout, function()
		if sending and attempt == mine then
			attempt = attempt + 1; -- the answer, if it ever comes, is ignored
			if req and req.conn then pcall(function() req.conn:close(); end); end
			retry_later("no answer within " .. timeout .. "s");
		end
	end);
	req = http.request(url, {
		method = "POST";
		body = body;
		headers = {
			["Content-Type"] = "application/json";
			["X-Custos-Signature"] = "hmac-sha256=" .. mac;
		};
	}, function(resp_body, code)
		if attempt ~= mine then return; end
		if code == 200 then
			for _, name in ipairs(names) do
				os.remove(spool .. "/" .. name);
			end
			for _ = 1, #names do table.remove(queue, 1); end
			if backoff > 0 then
				module:log("info", "archive reached again");
			end
			backoff = 0;
			sending = false;
			return send_next();
		end
		local why = code == 0 and tostring(resp_body) or ("HTTP " .. tostring(code) .. " " .. tostring(resp_body):sub(1, 200));
		retry_later(why);
	end);
end

-- ---- hooks -----------------------------------------------------------

local archived_ns = {
	["eu.siacs.conversations.axolotl"] = true; -- OMEMO
	["urn:xmpp:omemo:1"] = true;
	["urn:xmpp:omemo:2"] = true;
	["urn:xmpp:openpgp:0"] = true;
	["jabber:x:encrypted"] = true;
	["urn:xmpp:message-retract:1"] = true;
	["urn:xmpp:fasten:0"] = true;              -- older retraction and moderation
	["urn:xmpp:reactions:0"] = true;
	["jabber:x:oob"] = true;
};

local function worth_archiving(stanza)
	if stanza.attr.type == "error" then return false; end
	if archive_all then return true; end
	for _, tag in ipairs(stanza.tags) do -- childtags() would skip foreign namespaces
		if tag.name == "body" or tag.name == "subject" or archived_ns[tag.attr.xmlns] then
			return true;
		end
	end
	return false;
end

local function archive(stanza, direction, real_from)
	local sid;
	-- A stanza-id this host (or room) assigned is the most useful id; else a new one.
	for tag in stanza:childtags("stanza-id", "urn:xmpp:sid:0") do
		if tag.attr.by == module.host or (direction == "muc" and jid_bare(stanza.attr.from) == tag.attr.by) then
			sid = tag.attr.id;
		end
	end
	local item = {
		id = module.host .. ":" .. (sid or uuid.generate());
		direction = direction;
		time = math.floor(time.now() * 1000);
		stanza = tostring(stanza);
		real_from = real_from;
	};
	if spool_write(json.encode(item)) then
		send_next();
	end
end

local function on_out(event)
	local stanza = event.stanza;
	if stanza.attr.type == "groupchat" or not worth_archiving(stanza) then return; end
	archive(stanza, "out");
end

local function on_in(event)
	local origin, stanza = event.origin, event.stanza;
	if origin.type ~= "s2sin" or not worth_archiving(stanza) then return; end
	archive(stanza, "in");
end

local function on_muc(event)
	local room, stanza = event.room, event.stanza;
	if not worth_archiving(stanza) then return; end
	local occupant = stanza.attr.from and room:get_occupant_by_nick(stanza.attr.from);
	archive(stanza, "muc", occupant and occupant.bare_jid or nil);
end

load_spool();

if module:get_host_type() == "component" then
	-- On a MUC component: after mod_muc_mam (priority 0) added its stanza-id.
	module:hook("muc-broadcast-message", on_muc, -100);
else
	-- Early, so that what a client sent is seen even if a later handler
	-- drops it.
	module:hook("pre-message/bare", on_out, 1000);
	module:hook("pre-message/full", on_out, 1000);
	module:hook("pre-message/host", on_out, 1000);
	module:hook("message/bare", on_in, 1000);
	module:hook("message/full", on_in, 1000);
	module:hook("message/host", on_in, 1000);
end

module:add_timer(0, send_next); -- deliver what an earlier run left in the spool

module:log("info", "archiving messages of %s to %s", module.host, url);
