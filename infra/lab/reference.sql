-- The lab's demo reference data: customers, contracts and assets for verification.
-- Idempotent (ON CONFLICT DO NOTHING); production loads its own from the CRM and asset register.
INSERT INTO customers (id, name, time_zone, region) VALUES
    ('CUST-HN-001', 'Ngân hàng Sông Hồng (Hà Nội)', 'Asia/Ho_Chi_Minh', 'north'),
    ('CUST-DN-002', 'Cảng Tiên Sa Logistics (Đà Nẵng)', 'Asia/Ho_Chi_Minh', 'central'),
    ('CUST-SG-003', 'Chuỗi bán lẻ Phương Nam (TP.HCM)', 'Asia/Ho_Chi_Minh', 'south'),
    ('CUST-SG-004', 'Nhà máy Bình Dương Steel', 'Asia/Ho_Chi_Minh', 'south')
ON CONFLICT DO NOTHING;

INSERT INTO contracts (number, customer_id, tier, starts_on, ends_on, calendar) VALUES
    ('HD-2025-0001', 'CUST-HN-001', 'platinum', '2025-01-01', '2030-12-31', '24x7'),
    ('HD-2025-0002', 'CUST-DN-002', 'standard', '2025-01-01', '2030-12-31', 'business_hours'),
    ('HD-2025-0003', 'CUST-SG-003', 'gold', '2025-06-01', '2030-05-31', '24x7'),
    ('HD-2023-0004', 'CUST-SG-004', 'standard', '2023-01-01', '2024-12-31', 'business_hours')
ON CONFLICT DO NOTHING;

INSERT INTO assets (serial, customer_id, contract_number, model, category, warranty_until, location, region) VALUES
    ('SN-FW-HN-0001', 'CUST-HN-001', 'HD-2025-0001', 'FortiGate 200F', 'network', '2029-12-31', 'Hội sở Hà Nội', 'north'),
    ('SN-SRV-HN-0002', 'CUST-HN-001', 'HD-2025-0001', 'Dell PowerEdge R750', 'server', '2024-06-30', 'DC Hà Nội', 'north'),
    ('SN-CAM-DN-0003', 'CUST-DN-002', 'HD-2025-0002', 'Hikvision DS-2CD2143', 'camera', '2028-03-31', 'Kho bãi Đà Nẵng', 'central'),
    ('SN-UPS-SG-0004', 'CUST-SG-003', 'HD-2025-0003', 'APC Smart-UPS SRT 10kVA', 'datacenter', '2027-09-30', 'Phòng máy TP.HCM', 'south'),
    ('SN-ALM-BD-0005', 'CUST-SG-004', 'HD-2023-0004', 'Bosch FPA-5000', 'alarm', NULL, 'Nhà máy Bình Dương', 'south')
ON CONFLICT DO NOTHING;
